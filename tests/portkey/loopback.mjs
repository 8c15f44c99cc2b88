// Preloaded into Portkey's gateway (`node --import ./loopback.mjs .../start-server.js --port=0`) by
// check_gateway.mjs. The gateway's start-server.js listens on every interface and has no flag for the
// address; the test must stay on loopback, so a listen call without a host gets 127.0.0.1. The port
// the system chose (--port=0) is sent to the parent over the IPC channel `fork` opens.
import http from 'node:http';

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  // @hono/node-server calls listen(port, hostname, callback) with hostname undefined.
  if (typeof args[0] === 'number') {
    if (args.length === 1 || typeof args[1] === 'function') args.splice(1, 0, '127.0.0.1');
    else if (args[1] === undefined) args[1] = '127.0.0.1';
  }
  this.once('listening', () => process.send?.({ listening: this.address() }));
  return listen.apply(this, args);
};

// Portkey's loadbalance strategy draws with Math.random. A seeded generator (mulberry32) makes a
// run repeatable: each request of a scenario draws once, so the draws, and how many fall to each
// target, are the same every run, whichever request gets which.
let state = Number(process.env.SWITCHYARD_PORTKEY_SEED ?? 2026) >>> 0;
Math.random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
