//! Class and origin names to codes: [`LocalDict`] codes the names of one chunk (a collision-free
//! table keyed by the name's first 16 bytes while there are few, a hash map after), [`ViewCodes`]
//! codes the distinct 16-byte views of an Arrow string column, and [`GlobalDict`] merges chunks'
//! codes into one table whose names end up sorted, as [`crate::trace::Trace`] keeps them.

use std::collections::HashMap;

/// Names seen in one chunk, with codes in order of first appearance.
#[derive(Default)]
pub(super) struct LocalDict {
    pub(super) names: Vec<Vec<u8>>,
    /// [`name_key`] of each name.
    keys: Vec<(u64, u64, usize)>,
    /// Codes by key hash, kept free of collisions (reseeded or grown when two names meet), so that
    /// a name is always in its own slot and a lookup is one well-predicted comparison; a scan or a
    /// probe sequence mispredicts on every randomly ordered class. Used while there are few names.
    slots: Vec<u32>,
    /// log2 of the table size (0: no table yet), and the hash seed.
    slot_bits: u32,
    seed: u64,
    /// Set when there are too many names for the table, or two names share a key.
    use_map: bool,
    map: HashMap<Vec<u8>, u32>,
}

/// Names handled by the collision-free table; more go to the hash map.
const TABLE_NAMES: usize = 64;
const EMPTY_SLOT: u32 = u32::MAX;

#[inline(always)]
fn slot_of(key: (u64, u64, usize), seed: u64, bits: u32) -> usize {
    let h = (key.0 ^ seed) ^ key.1.rotate_left(29) ^ key.2 as u64;
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// A name as two words and its length: its first 16 bytes, zero-padded, as two little-endian
/// words. For names up to 16 bytes equal keys mean equal names, so a lookup compares three integers
/// instead of calling memcmp. Longer names: the first 8 bytes and a hash of the whole name (then
/// the bytes are compared too).
#[inline]
pub(super) fn name_key(name: &[u8]) -> (u64, u64, usize) {
    if name.len() > 16 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for &b in name {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut first = [0u8; 8];
        first.copy_from_slice(&name[..8]);
        return (u64::from_le_bytes(first), hash, name.len());
    }
    let mut bytes = [0u8; 16];
    let k = name.len();
    bytes[..k].copy_from_slice(name);
    let (lo, hi) = bytes.split_at(8);
    (
        u64::from_le_bytes(lo.try_into().unwrap_or_default()),
        u64::from_le_bytes(hi.try_into().unwrap_or_default()),
        name.len(),
    )
}

/// [`name_key`] of `buf[start..end]`, with two loads and masks instead of branches on the length
/// (names of random classes have unpredictable lengths).
#[inline(always)]
pub(super) fn name_key_at(buf: &[u8], start: usize, end: usize) -> (u64, u64, usize) {
    let n = end - start;
    if n > 16 || start + 16 > buf.len() {
        return name_key(&buf[start..end]);
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&buf[start + i..start + i + 8]);
        u64::from_le_bytes(w)
    };
    let mask = |k: usize| if k >= 8 { u64::MAX } else { (1u64 << (8 * k)) - 1 };
    (word(0) & mask(n), word(8) & mask(n.saturating_sub(8)), n)
}

impl LocalDict {
    /// Traces have a handful of classes and origins: a small table keyed by [`name_key`]; a
    /// general hash map once there are many names.
    #[inline]
    pub(super) fn code(&mut self, name: &[u8]) -> u32 {
        self.code_keyed(name_key(name), name)
    }

    /// Like [`LocalDict::code`], with the name's key already computed. The hit path is small
    /// enough to inline into the row loops; everything else is in [`LocalDict::code_slow`].
    #[inline(always)]
    pub(super) fn code_keyed(&mut self, key: (u64, u64, usize), name: &[u8]) -> u32 {
        if self.slot_bits > 0 {
            let c = self.slots[slot_of(key, self.seed, self.slot_bits)];
            if c != EMPTY_SLOT && self.keys[c as usize] == key && (key.2 <= 16 || self.names[c as usize] == name) {
                return c;
            }
        }
        self.code_slow(key, name)
    }

    #[cold]
    #[inline(never)]
    fn code_slow(&mut self, key: (u64, u64, usize), name: &[u8]) -> u32 {
        if self.use_map {
            return match self.map.get(name) {
                Some(&i) => i,
                None => self.insert(name, key),
            };
        }
        // Every known name sits in its own slot, so a miss is a new name.
        let code = self.insert(name, key);
        if !self.use_map {
            self.rebuild_table();
        }
        code
    }

    /// Place every name in its own slot: try seeds, then a bigger table; give up (use the hash
    /// map) if that does not work by 2^14 slots, e.g. for two long names with the same key.
    fn rebuild_table(&mut self) {
        let mut bits = self.slot_bits.max(6);
        let mut seed = self.seed;
        while bits <= 14 {
            for _ in 0..16 {
                let mut slots = vec![EMPTY_SLOT; 1 << bits];
                let placed = self.keys.iter().enumerate().all(|(code, &key)| {
                    let slot = &mut slots[slot_of(key, seed, bits)];
                    let free = *slot == EMPTY_SLOT;
                    *slot = code as u32;
                    free
                });
                if placed {
                    (self.slots, self.slot_bits, self.seed) = (slots, bits, seed);
                    return;
                }
                seed = seed.wrapping_add(0x2545_F491_4F6C_DD1D);
            }
            bits += 1;
        }
        self.switch_to_map();
    }

    fn switch_to_map(&mut self) {
        self.use_map = true;
        (self.slots, self.slot_bits) = (Vec::new(), 0);
        for (i, n) in self.names.iter().enumerate() {
            self.map.insert(n.clone(), i as u32);
        }
    }

    fn insert(&mut self, name: &[u8], key: (u64, u64, usize)) -> u32 {
        let code = self.names.len() as u32;
        self.names.push(name.to_vec());
        self.keys.push(key);
        if self.use_map {
            self.map.insert(name.to_vec(), code);
        } else if self.names.len() >= TABLE_NAMES {
            self.switch_to_map();
        }
        code
    }
}

/// Codes of a string column's distinct views (a view is the 16 bytes an Arrow string array keeps
/// per row: the length and the string itself if it is short, else a prefix and where it is). Equal
/// views are equal strings, so a column decoded from a Parquet dictionary is coded with one lookup
/// per row, keyed by the whole view: no branch on the name's length or bytes. Different views may
/// still be the same string; [`LocalDict`] gives both the same code.
pub(super) struct ViewCodes {
    /// Views by slot (kept free of collisions, as in [`LocalDict`]), and their codes.
    tags: Vec<u128>,
    codes: Vec<u32>,
    bits: u32,
    seed: u64,
    /// Every view in the table, and whether more may be added.
    known: Vec<(u128, u32)>,
    full: bool,
}

/// Views kept in a [`ViewCodes`] (like [`TABLE_NAMES`]); past this (many names, or plain-encoded
/// long strings: a view per row), new views are looked up by name only.
const VIEW_CODES: usize = 64;
/// No real view is all ones (its length would be 4 GiB).
const NO_VIEW: u128 = u128::MAX;

impl Default for ViewCodes {
    fn default() -> ViewCodes {
        ViewCodes {
            tags: vec![NO_VIEW],
            codes: vec![0],
            bits: 0,
            seed: 0x2545_F491_4F6C_DD1D,
            known: Vec::new(),
            full: false,
        }
    }
}

impl ViewCodes {
    #[inline(always)]
    fn slot(view: u128, seed: u64, bits: u32) -> usize {
        let h = ((view as u64) ^ seed) ^ ((view >> 64) as u64).rotate_left(29);
        // `checked_shr`: a table of one slot (bits 0) has everything in slot 0.
        h.wrapping_mul(0x9E37_79B9_7F4A_7C15).checked_shr(64 - bits).unwrap_or(0) as usize
    }

    #[inline(always)]
    pub(super) fn get(&self, view: u128) -> Option<u32> {
        let s = Self::slot(view, self.seed, self.bits);
        (self.tags[s] == view).then(|| self.codes[s])
    }

    #[cold]
    pub(super) fn insert(&mut self, view: u128, code: u32) {
        if self.full || view == NO_VIEW {
            return;
        }
        self.known.push((view, code));
        if self.known.len() >= VIEW_CODES {
            self.full = true;
        }
        let s = Self::slot(view, self.seed, self.bits);
        if self.tags[s] == NO_VIEW {
            (self.tags[s], self.codes[s]) = (view, code);
            return;
        }
        // A collision: new seeds, then more slots, until every view has its own slot; failing that
        // by 2^14 slots, the new view is looked up by name.
        let mut seed = self.seed;
        for bits in self.bits.max(4)..=14 {
            for _ in 0..8 {
                seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
                let mut tags = vec![NO_VIEW; 1 << bits];
                let mut codes = vec![0; 1 << bits];
                let placed = self.known.iter().all(|&(v, c)| {
                    let s = Self::slot(v, seed, bits);
                    let free = tags[s] == NO_VIEW;
                    (tags[s], codes[s]) = (v, c);
                    free
                });
                if placed {
                    (self.tags, self.codes, self.bits, self.seed) = (tags, codes, bits, seed);
                    return;
                }
            }
        }
        self.known.pop();
        self.full = true;
    }
}

/// A global name table: codes in order of first appearance, renumbered in sorted order at the end.
#[derive(Default)]
pub(super) struct GlobalDict {
    names: Vec<Vec<u8>>,
    map: HashMap<Vec<u8>, u16>,
}

impl GlobalDict {
    /// A table of distinct names, coded in this order.
    pub(super) fn from_names(names: Vec<Vec<u8>>) -> GlobalDict {
        let map = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u16)).collect();
        GlobalDict { names, map }
    }

    /// Global codes for a chunk's local names; `None` if there would be more than 65535 names.
    pub(super) fn map_local(&mut self, local: &LocalDict) -> Option<Vec<u16>> {
        let mut out = Vec::with_capacity(local.names.len());
        for name in &local.names {
            let code = match self.map.get(name) {
                Some(&c) => c,
                None => {
                    if self.names.len() >= u16::MAX as usize {
                        return None;
                    }
                    let c = self.names.len() as u16;
                    self.names.push(name.clone());
                    self.map.insert(name.clone(), c);
                    c
                }
            };
            out.push(code);
        }
        Some(out)
    }

    /// Sorted unique names, and the new code of each old code.
    pub(super) fn into_sorted(self) -> (Vec<String>, Vec<u16>) {
        let names: Vec<String> = self.names.into_iter().map(|n| String::from_utf8_lossy(&n).into_owned()).collect();
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].cmp(&names[b]));
        let mut sorted: Vec<String> = Vec::with_capacity(names.len());
        let mut remap = vec![0u16; names.len()];
        for &old in &order {
            // Two byte strings can become equal after lossy UTF-8 repair: they share a code.
            if sorted.last() != Some(&names[old]) {
                sorted.push(names[old].clone());
            }
            remap[old] = (sorted.len() - 1) as u16;
        }
        (sorted, remap)
    }
}

/// A name column's codes into its sorted names, and the names: the dictionary's when the file
/// has the column, else the one `default` name for all `n` rows.
pub(super) fn named_codes(
    present: bool,
    dict: GlobalDict,
    mut codes: Vec<u16>,
    n: usize,
    default: &str,
) -> (Vec<u16>, Vec<String>) {
    if !present {
        return (vec![0; n], vec![default.to_string()]);
    }
    let (names, remap) = dict.into_sorted();
    if remap.iter().enumerate().any(|(i, &c)| usize::from(c) != i) {
        codes.iter_mut().for_each(|c| *c = remap[*c as usize]);
    }
    (codes, names)
}

/// Drop names no code refers to, renumbering the codes (the names stay in their order).
pub(super) fn drop_unused_names(codes: &mut [u16], dict: GlobalDict) -> GlobalDict {
    let mut used = vec![false; dict.names.len()];
    codes.iter().for_each(|&c| used[usize::from(c)] = true);
    if used.iter().all(|&u| u) {
        return dict;
    }
    let mut renumber = vec![0u16; used.len()];
    let mut kept = Vec::new();
    for (old, name) in dict.names.into_iter().enumerate() {
        if used[old] {
            renumber[old] = kept.len() as u16;
            kept.push(name);
        }
    }
    codes.iter_mut().for_each(|c| *c = renumber[usize::from(*c)]);
    GlobalDict::from_names(kept)
}

/// Drop names no code refers to, renumbering the codes.
pub(super) fn compact_dict(codes: &mut [u32], dict: LocalDict) -> LocalDict {
    let mut used = vec![u32::MAX; dict.names.len()];
    let mut out = LocalDict::default();
    for c in codes.iter_mut() {
        let old = *c as usize;
        if used[old] == u32::MAX {
            used[old] = out.insert(&dict.names[old], dict.keys[old]);
        }
        *c = used[old];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_switches_to_hashing_without_changing_codes() {
        let mut d = LocalDict::default();
        // Past the collision-free table's limit, into the hash map; long and short names.
        let names: Vec<String> = (0..100)
            .map(|i| if i % 3 == 0 { format!("a-rather-long-class-name-{i}") } else { format!("c{i}") })
            .collect();
        // Long names with a common 16-byte start stay in the table (their keys hash the whole name).
        let mut few = LocalDict::default();
        for (i, n) in names.iter().take(30).enumerate() {
            assert_eq!(few.code(n.as_bytes()), i as u32);
        }
        assert!(!few.use_map);
        for (i, n) in names.iter().take(30).enumerate().rev() {
            assert_eq!(few.code(n.as_bytes()), i as u32);
        }
        // Two different names with the same key (forced): the table gives up, lookups stay right.
        let mut clash = LocalDict::default();
        assert_eq!(clash.code_keyed((1, 2, 20), b"first-long-name-aaaa"), 0);
        assert_eq!(clash.code_keyed((1, 2, 20), b"first-long-name-bbbb"), 1);
        assert!(clash.use_map);
        assert_eq!(clash.code_keyed((1, 2, 20), b"first-long-name-aaaa"), 0);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(d.code(n.as_bytes()), i as u32);
        }
        for (i, n) in names.iter().enumerate().rev() {
            assert_eq!(d.code(n.as_bytes()), i as u32);
        }
    }

    #[test]
    fn view_codes_find_what_they_hold_and_nothing_else() {
        let mut codes = ViewCodes::default();
        assert_eq!(codes.get(0), None);
        // Views that differ in one word only, as inline views of names of one length do.
        let view = |i: u128| (i << 32) | 5;
        for i in 0..100u32 {
            codes.insert(view(i.into()), i);
            for j in 0..=i {
                let want = (j < VIEW_CODES as u32).then_some(j);
                assert_eq!(codes.get(view(j.into())), want, "{j} after inserting {i}");
            }
        }
        assert_eq!(codes.get(view(1000)), None);
    }
}
