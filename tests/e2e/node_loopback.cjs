// Preloaded into Node peers (`node --require node_loopback.cjs ...`): a server that
// listens on a bare port (server-everything's `app.listen(PORT)`) binds 127.0.0.1
// only, never every interface.
"use strict";
const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const bare = typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]));
  if (bare && (args.length === 1 || typeof args[1] === "function")) {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
