// Prepares the import of deploy/n8n/import.sh: copies every workflow of SRC to OUT/workflows with its
// "Configuración" node filled from the environment, writes OUT/credentials.json (the credential the
// workflows reference, from PIPELINE_API_TOKEN) and OUT/ids (the workflow ids, one a line).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error("usage: node configure.mjs SRC_DIR OUT_DIR");
  process.exit(2);
}
function setting(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}
const token = setting("PIPELINE_API_TOKEN");
const values = {
  base_url: setting("BI_BASE_URL").replace(/\/+$/, ""),
  tenant: setting("BI_TENANT_ID"),
  poll_seconds: Number(setting("BI_POLL_SECONDS", "30")),
};
if (!/^https?:\/\/[^/\s]+$/.test(values.base_url)) {
  console.error("BI_BASE_URL must be scheme://host[:port], without a path");
  process.exit(2);
}
if (!Number.isInteger(values.poll_seconds) || values.poll_seconds < 1) {
  console.error("BI_POLL_SECONDS must be a whole number of seconds (>= 1)");
  process.exit(2);
}

mkdirSync(join(out, "workflows"), { recursive: true });
const ids = [];
const credentials = new Map();
for (const file of readdirSync(src).filter((f) => f.endsWith(".json")).sort()) {
  const wf = JSON.parse(readFileSync(join(src, file), "utf8"));
  const config = wf.nodes.find((n) => n.name === "Configuración");
  if (!wf.id || !config) {
    console.error(`${file}: a workflow needs a top-level id and a "Configuración" node`);
    process.exit(2);
  }
  for (const a of config.parameters.assignments.assignments) {
    if (a.name in values) a.value = values[a.name];
  }
  for (const node of wf.nodes) {
    for (const [type, ref] of Object.entries(node.credentials ?? {})) credentials.set(ref.id, { ...ref, type });
  }
  writeFileSync(join(out, "workflows", file), JSON.stringify(wf, null, 2));
  ids.push(wf.id);
}
if (credentials.size !== 1) {
  console.error(`expected the workflows to share one credential, found ${credentials.size}`);
  process.exit(2);
}
const [cred] = credentials.values();
const doc = [{ id: cred.id, name: cred.name, type: cred.type, data: { name: "Authorization", value: `Bearer ${token}` } }];
writeFileSync(join(out, "credentials.json"), JSON.stringify(doc), { mode: 0o600 });
writeFileSync(join(out, "ids"), `${ids.join("\n")}\n`);
