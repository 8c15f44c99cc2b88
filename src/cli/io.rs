//! What a subcommand reads and writes, checked in one place before any work is done.
//!
//! Every subcommand declares its inputs (files it reads) and outputs (files and folders it writes)
//! in `Command::io` (args.rs, beside the flags). [`Declared::check`] runs before anything is read:
//!
//! * an output that resolves to an input is refused (canonical paths: `./a`, `a`, `dir/../a` and a
//!   symlink to `a` are one file), and so is an output folder that would replace an input inside
//!   it, and two outputs naming one file;
//! * every input exists and is a file; every output file's folder exists and is a folder, the file
//!   is not a folder, a table's name tells its format, and the folder takes a new file;
//! * every output folder (`--out`, `--chart`) is created if it does not exist (the command says
//!   so when it is done) and gets a fresh staging folder, `.switchyard-staging-*` inside it.
//!
//! All problems are reported at once, as [`switchyard::Error::Invalid`] (exit code 2); a folder
//! that cannot be created or written is an IO error (exit code 1).
//!
//! A command writes each output at [`Outputs::at`]: a file of its own path, or the same place in
//! the staging folder of the output folder it lies in. [`Outputs::commit`] then makes each folder
//! one consistent run: the command's files from an earlier run that this run did not write are
//! removed first (an infeasible `optimize` leaves no `policy.yaml` from a feasible one), then the
//! staged files are moved in, one rename each. Files the command does not write (a user's notes)
//! are left alone and named in a warning. A run that fails before committing leaves its folders
//! as they were: the staging folder is removed, and so is a folder it created, if still empty.
//!
//! Which files are a command's own is said by a predicate on the relative path (`owns`), from the
//! names the command writes: the same names an earlier version of switchyard wrote, so no record
//! of earlier runs is kept in the folder.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use switchyard::error::{Error, Place, Problems};

/// The prefix of everything switchyard itself keeps in an output folder while it works: the
/// staging folder and atomic writes' temporary files. Never reported as a user's file.
const OWN_PREFIX: &str = ".switchyard-";

/// What a command writes at a path.
#[derive(Clone, Copy)]
pub enum OutputKind {
    /// A file of any format (JSON, YAML, an LP, a chart).
    File,
    /// A table or trace: the extension names the format.
    Table,
    /// A folder the command fills. `owns` says which relative paths (`/`-separated) in it are
    /// files this command writes.
    Folder { owns: fn(&str) -> bool },
}

struct Input {
    flag: &'static str,
    path: PathBuf,
}

struct Output {
    flag: &'static str,
    path: PathBuf,
    kind: OutputKind,
}

/// A subcommand's inputs and outputs, as its flags name them.
pub struct Declared {
    command: &'static str,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
}

impl Declared {
    pub fn new(command: &'static str) -> Declared {
        Declared { command, inputs: Vec::new(), outputs: Vec::new() }
    }

    /// A file the command reads (`flag` names it in messages: `--trace`, or `FILE` for an argument).
    pub fn input<'p>(mut self, flag: &'static str, path: impl Into<Option<&'p PathBuf>>) -> Declared {
        if let Some(path) = path.into() {
            self.inputs.push(Input { flag, path: path.clone() });
        }
        self
    }

    /// Files the command writes, of `kind`.
    /// A repeatable input flag.
    pub fn inputs<'p>(self, flag: &'static str, paths: impl IntoIterator<Item = &'p PathBuf>) -> Declared {
        paths.into_iter().fold(self, |d, path| d.input(flag, path))
    }

    pub fn output<'p>(
        mut self,
        flag: &'static str,
        kind: OutputKind,
        paths: impl IntoIterator<Item = &'p PathBuf>,
    ) -> Declared {
        for path in paths {
            self.outputs.push(Output { flag, path: path.clone(), kind });
        }
        self
    }

    /// Every path declared, inputs then outputs (for the test that every path flag is declared).
    #[cfg(test)]
    pub fn paths(&self) -> Vec<&Path> {
        self.inputs.iter().map(|i| i.path.as_path()).chain(self.outputs.iter().map(|o| o.path.as_path())).collect()
    }

    /// Check every input and output (see the module header) and set up the output folders.
    pub fn check(self) -> anyhow::Result<Outputs> {
        let mut problems = Problems::default();
        let inputs: Vec<(&Input, PathBuf)> =
            self.inputs.iter().filter(|i| check_input(i, &mut problems)).map(|i| (i, identity(&i.path))).collect();
        let outputs: Vec<(&Output, PathBuf)> = self.outputs.iter().map(|o| (o, identity(&o.path))).collect();
        let folders: Vec<&(&Output, PathBuf)> =
            outputs.iter().filter(|(o, _)| matches!(o.kind, OutputKind::Folder { .. })).collect();
        // The folder an output file is staged in, if any.
        let folder_of = |id: &Path| folders.iter().find(|(_, dir)| id.starts_with(dir) && id != dir.as_path());

        for (k, (out, id)) in outputs.iter().enumerate() {
            for (input, input_id) in &inputs {
                if id == input_id {
                    // The input's own spelling only where it differs (`./p.yaml`, a symlink).
                    let spelt =
                        if input.path == out.path { String::new() } else { format!(" ({})", input.path.display()) };
                    problems.push(
                        Place::file(&out.path).field(out.flag),
                        format!(
                            "is the file {} reads{spelt}: writing {} would destroy that input",
                            input.flag, out.flag
                        ),
                        format!("write {} to another path", out.flag),
                    );
                } else if let OutputKind::Folder { owns } = out.kind
                    && let Some(rel) = relative(input_id, id)
                    && owns(&rel)
                {
                    problems.push(
                        Place::file(&out.path).field(out.flag),
                        format!(
                            "holds `{}`, the file `{}` reads ({}), and this command writes a file of that name there",
                            rel,
                            input.flag,
                            input.path.display()
                        ),
                        format!("choose another {} folder, or move {} out of it", out.flag, input.path.display()),
                    );
                }
            }
            for (other, other_id) in &outputs[..k] {
                let same = id == other_id
                    || matches!(other.kind, OutputKind::Folder { owns } if relative(id, other_id).is_some_and(|r| owns(&r)));
                if same {
                    problems.push(
                        Place::file(&out.path).field(out.flag),
                        format!("is also written by {} ({})", other.flag, other.path.display()),
                        format!("give {} and {} different paths", other.flag, out.flag),
                    );
                }
            }
            match out.kind {
                OutputKind::Folder { .. } => check_folder(out, &mut problems),
                OutputKind::File | OutputKind::Table if folder_of(id).is_none() => check_file(out, &mut problems)?,
                OutputKind::File | OutputKind::Table => {}
            }
            if let OutputKind::Table = out.kind {
                check_table_name(out, &mut problems);
            }
        }
        problems.finish()?;

        let mut staged = Vec::new();
        for (out, id) in &folders {
            let OutputKind::Folder { owns } = out.kind else { unreachable!("filtered to folders") };
            staged.push(Staged::open(self.command, out.flag, &out.path, id, owns)?);
        }
        let mut files = Vec::new();
        for (out, id) in &outputs {
            if matches!(out.kind, OutputKind::Folder { .. }) {
                continue;
            }
            if let Some((_, dir)) = folder_of(id) {
                let stage = staged.iter().find(|s| &s.id == dir).expect("a staged folder per folder output");
                let rel = id.strip_prefix(dir).expect("inside the folder");
                files.push((out.path.clone(), stage.staging.path().join(rel)));
            }
        }
        Ok(Outputs { folders: staged, files })
    }
}

/// An input must exist and be a file. Returns whether it does (only those are compared).
fn check_input(input: &Input, problems: &mut Problems) -> bool {
    match fs::metadata(&input.path) {
        Ok(m) if m.is_dir() => {
            problems.push(
                Place::file(&input.path).field(input.flag),
                "is a folder; a file is wanted here",
                format!("name a file for {}", input.flag),
            );
            false
        }
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(
                Place::file(&input.path).field(input.flag),
                "does not exist",
                format!("check the path given to {} (a relative path starts from the current folder)", input.flag),
            );
            false
        }
        // Anything else (permissions) is the reader's to report, with its own error.
        Err(_) => true,
    }
}

/// An output file outside any output folder: its folder exists, it is not a folder, and a new file
/// can be made beside it (the atomic write's temporary file).
fn check_file(out: &Output, problems: &mut Problems) -> anyhow::Result<()> {
    let place = || Place::file(&out.path).field(out.flag);
    let meta = fs::metadata(&out.path);
    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
        problems.push(place(), "is a folder; an output file is wanted here", format!("name a file for {}", out.flag));
        return Ok(());
    }
    // A device or a pipe (`/dev/stdout`, `/dev/null`) is written in place, not replaced.
    if meta.as_ref().is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    let parent = parent_of(&out.path);
    match fs::metadata(parent) {
        Ok(m) if m.is_dir() => {
            tempfile::Builder::new()
                .prefix(OWN_PREFIX)
                .tempfile_in(parent)
                .map_err(|e| Error::io(parent, e))
                .with_context(|| format!("cannot write {} in this folder", out.flag))?;
        }
        Ok(_) => problems.push(
            place(),
            format!("`{}` is a file, not a folder", parent.display()),
            format!("choose another path for {}", out.flag),
        ),
        Err(_) => problems.push(
            place(),
            format!("the folder `{}` does not exist", parent.display()),
            format!("create it first (`mkdir -p {}`), or choose another path for {}", quote(parent), out.flag),
        ),
    }
    Ok(())
}

/// A table's file name must name its format.
fn check_table_name(out: &Output, problems: &mut Problems) {
    if switchyard::trace::TraceFormat::from_path(&out.path).is_none() {
        problems.push(
            Place::file(&out.path).field(out.flag),
            "cannot tell the output format from the file name",
            "end the file name in .parquet, .csv, .csv.gz or .ndjson",
        );
    }
}

/// An output folder may not exist yet (it is created), but may not be a file, nor lie under one.
fn check_folder(out: &Output, problems: &mut Problems) {
    let mut at = Some(out.path.as_path());
    while let Some(p) = at {
        if let Ok(m) = fs::metadata(if p.as_os_str().is_empty() { Path::new(".") } else { p }) {
            if !m.is_dir() {
                let message = if p == out.path {
                    "is a file; an output folder is wanted here".to_string()
                } else {
                    format!("`{}` is a file, not a folder", p.display())
                };
                problems.push(
                    Place::file(&out.path).field(out.flag),
                    message,
                    format!("choose another folder for {}", out.flag),
                );
            }
            return;
        }
        at = p.parent();
    }
}

/// The folder a file path is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The file a path names as the system resolves it: absolute, symlinks followed, `.` and `..`
/// gone. For a path that does not exist (yet): its nearest existing folder resolved so, and the
/// rest appended.
pub fn identity(path: &Path) -> PathBuf {
    if let Ok(p) = fs::canonicalize(path) {
        return p;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut base = absolute.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(p) = fs::canonicalize(&base) {
            let mut out = p;
            for part in rest.iter().rev() {
                match Path::new(part).components().next() {
                    Some(Component::ParentDir) => {
                        out.pop();
                    }
                    Some(Component::CurDir) | None => {}
                    _ => out.push(part),
                }
            }
            return out;
        }
        match base.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            // `..` at the end has no file name: keep it as a step back.
            None if base.ends_with("..") => rest.push("..".into()),
            None => return absolute,
        }
        if !base.pop() {
            return absolute;
        }
    }
}

/// `path` relative to `dir` with `/` separators, if it lies inside it.
fn relative(path: &Path, dir: &Path) -> Option<String> {
    let rel = path.strip_prefix(dir).ok()?;
    if rel.as_os_str().is_empty() {
        return None;
    }
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/"))
}

/// A path as a shell word: quoted only when it needs to be, so a printed command runs as it is.
pub fn quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    match shlex::try_quote(&text) {
        Ok(q) => q.into_owned(),
        Err(_) => format!("'{text}'"),
    }
}

/// This process's command line as one shell command (`switchyard` for the program), each word
/// quoted where it needs to be, so that a page can print how to make it again.
pub fn command_line() -> String {
    let words: Vec<String> = std::env::args_os().skip(1).map(|w| quote(Path::new(&w))).collect();
    format!("switchyard {}", words.join(" "))
}

/// An output folder as a command fills it: files are written under `write` (its staging folder)
/// and named under `shown` (the folder the user named) in messages and reports.
pub struct Dest {
    pub write: PathBuf,
    pub shown: PathBuf,
}

impl Dest {
    /// A subfolder of this one.
    pub fn join(&self, name: &str) -> Dest {
        Dest { write: self.write.join(name), shown: self.shown.join(name) }
    }
    /// Where to write the file `name`.
    pub fn write(&self, name: &str) -> PathBuf {
        self.write.join(name)
    }
    /// How to name the file `name` (or a file written at `path` in this folder).
    pub fn shown(&self, name: impl AsRef<Path>) -> PathBuf {
        let name = name.as_ref();
        self.shown.join(name.strip_prefix(&self.write).unwrap_or(name))
    }
}

/// Where a command writes its declared outputs, and the folders it commits when done.
pub struct Outputs {
    folders: Vec<Staged>,
    /// Output files inside an output folder: (the path as declared, where it is staged).
    files: Vec<(PathBuf, PathBuf)>,
}

impl Outputs {
    /// Where to write the declared output `path`: in its folder's staging folder if it lies in an
    /// output folder (or is one), else at `path` itself.
    pub fn at(&self, path: &Path) -> PathBuf {
        if let Some(s) = self.folders.iter().find(|s| s.declared == path) {
            return s.staging.path().to_path_buf();
        }
        if let Some((_, staged)) = self.files.iter().find(|(declared, _)| declared == path) {
            return staged.clone();
        }
        path.to_path_buf()
    }

    /// The declared output folder `path` as a [`Dest`].
    pub fn dest(&self, path: &Path) -> Dest {
        Dest { write: self.at(path), shown: path.to_path_buf() }
    }

    /// Make every output folder this run's (see the module header). Idempotent: a folder is
    /// committed once.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        for folder in &mut self.folders {
            folder.commit()?;
        }
        Ok(())
    }
}

/// An output folder while its command runs.
struct Staged {
    command: &'static str,
    flag: &'static str,
    /// The folder as the command line names it (for messages).
    declared: PathBuf,
    /// Its canonical path.
    id: PathBuf,
    staging: tempfile::TempDir,
    /// The topmost folder this run created (removed again, if empty, when the run fails), as
    /// the system and as the user name it.
    created: Option<(PathBuf, PathBuf)>,
    owns: fn(&str) -> bool,
    committed: bool,
}

impl Staged {
    fn open(
        command: &'static str,
        flag: &'static str,
        declared: &Path,
        id: &Path,
        owns: fn(&str) -> bool,
    ) -> anyhow::Result<Staged> {
        let mut created = None;
        if !id.exists() {
            // The topmost folder that is missing, as the system and as the user name it.
            let mut top = id.to_path_buf();
            while top.parent().is_some_and(|p| !p.exists()) {
                top.pop();
            }
            let shown = declared.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).last();
            fs::create_dir_all(id)
                .map_err(|e| Error::io(declared, e))
                .with_context(|| format!("cannot create the folder for {flag}"))?;
            created = Some((top, shown.unwrap_or(declared).to_path_buf()));
        }
        let staging = tempfile::Builder::new()
            .prefix(&format!("{OWN_PREFIX}staging-"))
            .tempdir_in(id)
            .map_err(|e| Error::io(declared, e))
            .with_context(|| format!("cannot write in the folder for {flag}"))?;
        Ok(Staged {
            command,
            flag,
            declared: declared.to_path_buf(),
            id: id.to_path_buf(),
            staging,
            created,
            owns,
            committed: false,
        })
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        if self.committed {
            return Ok(());
        }
        self.committed = true;
        let shown = |rel: &str| self.declared.join(rel).display().to_string();
        let new = files_in(self.staging.path(), &|_| true).map_err(|e| Error::io(self.staging.path(), e))?;
        // Into the folder's subfolders only where this run writes (`--out .` does not walk a home).
        let ours = |sub: &str| new.iter().any(|rel| rel.strip_prefix(sub).is_some_and(|r| r.starts_with('/')));
        let before = files_in(&self.id, &ours).map_err(|e| Error::io(&self.declared, e))?;
        // Earlier runs' files first, so that at no moment does a file of this run sit beside a
        // stale one of an earlier run (a new "infeasible" beside an old policy.yaml).
        let stale: Vec<&String> = before.iter().filter(|rel| (self.owns)(rel) && !new.contains(*rel)).collect();
        for rel in &stale {
            match fs::remove_file(self.id.join(rel)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(self.declared.join(rel), e).into()),
            }
        }
        for rel in &new {
            let to = self.id.join(rel);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            fs::rename(self.staging.path().join(rel), &to).map_err(|e| Error::io(self.declared.join(rel), e))?;
        }
        // Only empty folders are left in the staging folder now; `TempDir` would remove it on
        // drop, but the folder should be clean as soon as it is committed.
        let _ = fs::remove_dir_all(self.staging.path());
        if let Some((_, shown)) = &self.created {
            eprintln!("created the folder {} ({} {})", shown.display(), self.command, self.flag);
        }
        if !stale.is_empty() {
            let names: Vec<String> = stale.iter().map(|r| shown(r)).collect();
            eprintln!("removed {} (written by an earlier {}, not by this run)", list(&names), self.command);
        }
        let others: Vec<String> =
            before.iter().filter(|rel| !new.contains(*rel) && !(self.owns)(rel)).map(|r| shown(r)).collect();
        if !others.is_empty() {
            eprintln!(
                "warning: {} holds {} this run of {} did not write; left alone: {}",
                self.declared.display(),
                if others.len() == 1 { "a file".to_string() } else { format!("{} files", others.len()) },
                self.command,
                list(&others)
            );
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // A run that did not commit leaves the folder as it found it; the staging folder goes
        // with `TempDir`'s own drop, after this. A folder this run created goes if nothing else
        // was put in it meanwhile (`remove_dir` takes only empty folders).
        if !self.committed
            && let Some((top, _)) = &self.created
        {
            let _ = fs::remove_dir_all(self.staging.path());
            let mut at = self.id.clone();
            while at.starts_with(top) && fs::remove_dir(&at).is_ok() {
                if !at.pop() {
                    break;
                }
            }
        }
    }
}

/// Files under `dir`, relative, `/`-separated, sorted; switchyard's own working files
/// (`.switchyard-*`) and what is under them left out. Symlinks are listed, not followed. A
/// subfolder is listed as `name/` unless `descend` says to list what is in it.
fn files_in(dir: &Path, descend: &dyn Fn(&str) -> bool) -> std::io::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((at, prefix)) = stack.pop() {
        for entry in fs::read_dir(&at)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(OWN_PREFIX) {
                continue;
            }
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            if entry.file_type()?.is_dir() {
                if descend(&rel) {
                    stack.push((entry.path(), rel));
                } else {
                    out.insert(format!("{rel}/"));
                }
            } else {
                out.insert(rel);
            }
        }
    }
    Ok(out)
}

/// "a, b, c and 4 more": at most eight names.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..SHOWN].join(", "), names.len() - SHOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_one_file_for_every_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        fs::write(&a, "x").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let want = identity(&a);
        assert_eq!(identity(&dir.path().join("./a.yaml")), want);
        assert_eq!(identity(&dir.path().join("sub/../a.yaml")), want);
        assert_eq!(identity(&link), want);
        // Not there yet: the existing part resolved, the rest appended.
        let new = identity(&dir.path().join("sub/./new/../b.json"));
        assert_eq!(new, identity(&dir.path().join("sub")).join("b.json"));
    }

    fn owns_a_and_b(rel: &str) -> bool {
        rel == "a.json" || rel == "b.yaml" || rel == "sub/c.csv"
    }

    #[test]
    fn a_commit_replaces_the_commands_files_and_leaves_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        fs::create_dir_all(out.join("mine")).unwrap();
        fs::write(out.join("a.json"), "old").unwrap();
        fs::write(out.join("b.yaml"), "stale").unwrap();
        fs::write(out.join("notes.txt"), "my notes").unwrap();
        fs::write(out.join("mine/x"), "").unwrap();
        let folder = OutputKind::Folder { owns: owns_a_and_b };
        let mut outputs = Declared::new("test").output("--out", folder, [&out]).check().unwrap();
        let staging = outputs.at(&out);
        assert!(staging.starts_with(identity(&out)) && staging != identity(&out), "{}", staging.display());
        fs::write(staging.join("a.json"), "new").unwrap();
        fs::create_dir(staging.join("sub")).unwrap();
        fs::write(staging.join("sub/c.csv"), "new").unwrap();
        assert_eq!(fs::read_to_string(out.join("a.json")).unwrap(), "old", "written before the commit");
        outputs.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("a.json")).unwrap(), "new");
        assert_eq!(fs::read_to_string(out.join("sub/c.csv")).unwrap(), "new");
        assert!(!out.join("b.yaml").exists(), "a file of an earlier run was kept");
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "my notes");
        assert!(out.join("mine/x").exists());
        let left: Vec<String> =
            fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert!(left.iter().all(|n| !n.starts_with(OWN_PREFIX)), "{left:?}");
    }

    #[test]
    fn a_run_that_does_not_commit_leaves_no_folder_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let folder = OutputKind::Folder { owns: owns_a_and_b };
        let outputs = Declared::new("test").output("--out", folder, [&out]).check().unwrap();
        fs::write(outputs.at(&out).join("a.json"), "half").unwrap();
        assert!(out.exists());
        drop(outputs);
        assert!(!dir.path().join("a").exists(), "the folders created for the run are still there");
    }

    #[test]
    fn quoting_leaves_plain_paths_alone() {
        assert_eq!(quote(Path::new("runs/day-1.parquet")), "runs/day-1.parquet");
        assert_eq!(quote(Path::new("my runs/a b.csv")), "'my runs/a b.csv'");
    }
}
