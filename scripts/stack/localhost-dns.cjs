// Preload for Node processes of the stack test (NODE_OPTIONS=--require …): names under `.localhost`
// resolve to 127.0.0.1, as RFC 6761 asks and as browsers and systemd-resolved do. glibc here has no
// such rule (nss-myhostname is not installed), so without this n8n could not reach Caddy's
// https://dash.bi.localhost:PORT. Every other name goes to the system resolver unchanged.
"use strict";
const dns = require("node:dns");

const isLocal = (host) => typeof host === "string" && /(^|\.)localhost\.?$/i.test(host);

function answer(options, family4) {
  const all = typeof options === "object" && options !== null && options.all;
  return all ? [{ address: "127.0.0.1", family: 4 }] : family4;
}

const lookup = dns.lookup;
dns.lookup = function patchedLookup(hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  if (!isLocal(hostname)) return lookup.call(this, hostname, options, callback);
  const all = typeof options === "object" && options !== null && options.all;
  process.nextTick(() => (all ? callback(null, answer(options)) : callback(null, "127.0.0.1", 4)));
  return {};
};

const promises = dns.promises;
const plookup = promises.lookup;
promises.lookup = function patchedPromiseLookup(hostname, options) {
  if (!isLocal(hostname)) return plookup.call(this, hostname, options);
  const all = typeof options === "object" && options !== null && options.all;
  return Promise.resolve(all ? answer(options) : { address: "127.0.0.1", family: 4 });
};
