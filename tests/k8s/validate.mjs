// Validates a rendered Kubernetes bundle (multi-document YAML) without a cluster, in the layers
// the layered manifest checks describe (the render itself and yamllint are run by run.sh):
//
//   schema  each object against the Kubernetes OpenAPI schema (kubernetes-models validate()):
//           wrong types, missing required fields, bad enums, malformed quantities (`cpu: lots`)
//   types   each object as a TypeScript literal of the package's interface (IDeployment, ...),
//           type-checked by the compiler API: misspelt fields (`containerPorts:`) are excess
//           properties, which the schema layer lets through
//   bundle  what no schema knows: selectors match pod labels, named ports and mounted volumes
//           are declared, referenced ConfigMaps/Secrets (and keys) exist, Service ports agree with
//           container ports, pinned images, no privileged pods, no secrets in env literals,
//           probes and resources on every long-running container
//
// Usage:
//   node validate.mjs FILE.yaml...        validates each file as one bundle; exit 1 on findings
//   node validate.mjs --self-test DIR     every DIR/good-*.yaml must pass, every DIR/bad-*.yaml
//                                         must produce each finding its `# expect: LAYER: TEXT`
//                                         header lines name (and nothing unexpected)
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// ---- loading ------------------------------------------------------------------------------------

export function loadBundle(text) {
  return yaml.loadAll(text).filter((doc) => doc != null);
}

const id = (o) => `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;

// apiVersion "apps/v1" -> module "kubernetes-models/apps/v1"; "v1" -> "kubernetes-models/v1".
function modelModule(apiVersion) {
  return `kubernetes-models/${apiVersion}`;
}

// ---- layer: schema ------------------------------------------------------------------------------

export function schemaLayer(objects) {
  const findings = [];
  for (const o of objects) {
    if (!o || typeof o !== "object" || !o.apiVersion || !o.kind) {
      findings.push({ layer: "schema", where: id(o), message: "not a Kubernetes object (apiVersion/kind missing)" });
      continue;
    }
    let Model;
    try {
      Model = require(modelModule(o.apiVersion))[o.kind];
    } catch {
      Model = undefined;
    }
    if (!Model) {
      findings.push({ layer: "schema", where: id(o), message: `unknown apiVersion/kind ${o.apiVersion} ${o.kind}` });
      continue;
    }
    const data = structuredClone(o);
    // The API server decodes base64 ignoring line breaks, and kustomize wraps long values.
    if (o.kind === "Secret" && data.data) {
      for (const k of Object.keys(data.data)) data.data[k] = String(data.data[k]).replace(/\s+/g, "");
    }
    try {
      new Model(data).validate();
    } catch (e) {
      const details = Array.isArray(e.errors)
        ? e.errors.map((x) => `${x.instancePath || "/"} ${x.message}`).join("; ")
        : String(e.message ?? e);
      findings.push({ layer: "schema", where: id(o), message: details });
    }
  }
  return findings;
}

// ---- layer: types (excess properties) -----------------------------------------------------------

export function typesLayer(objects) {
  const findings = [];
  const imports = new Map(); // module -> set of interface names
  const decls = [];
  const lineOwner = []; // [firstLine, lastLine, object]
  let line = 0;
  const header = [];
  const known = objects.filter((o) => {
    try {
      return o?.apiVersion && o?.kind && require(modelModule(o.apiVersion))[o.kind];
    } catch {
      return false;
    }
  });
  known.forEach((o) => {
    const mod = modelModule(o.apiVersion);
    if (!imports.has(mod)) imports.set(mod, new Set());
    imports.get(mod).add(`I${o.kind}`);
  });
  let alias = 0;
  const aliasOf = new Map();
  for (const [mod, names] of imports) {
    const parts = [...names].map((n) => {
      const a = `${n}_${alias++}`;
      aliasOf.set(`${mod}#${n}`, a);
      return `${n} as ${a}`;
    });
    header.push(`import type { ${parts.join(", ")} } from ${JSON.stringify(mod)};`);
  }
  line = header.length;
  known.forEach((o, i) => {
    const type = aliasOf.get(`${modelModule(o.apiVersion)}#I${o.kind}`);
    const body = `export const o${i}: ${type} = ${JSON.stringify(o, null, 2)};`;
    const n = body.split("\n").length;
    lineOwner.push([line, line + n - 1, o]);
    decls.push(body);
    line += n;
  });
  const source = [...header, ...decls].join("\n") + "\n";
  const fileName = path.join(here, "__bundle_check__.ts");
  const options = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === fileName ? ts.createSourceFile(name, source, lang, true) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === fileName ? source : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n").split("\n").pop();
    let where = "bundle";
    if (d.file && path.resolve(d.file.fileName) === fileName && d.start !== undefined) {
      const { line: l } = d.file.getLineAndCharacterOfPosition(d.start);
      const owner = lineOwner.find(([a, b]) => l >= a && l <= b);
      if (owner) where = id(owner[2]);
      // The JSON path of the offending property: the keys of the enclosing object literals.
      const keys = [];
      let node = findNode(d.file, d.start);
      while (node) {
        if (ts.isPropertyAssignment(node)) keys.unshift(node.name.getText(d.file).replace(/^"|"$/g, ""));
        node = node.parent;
      }
      findings.push({ layer: "types", where, message: `${keys.join(".")}: ${text}` });
    } else {
      findings.push({ layer: "types", where, message: text });
    }
  }
  return findings;
}

function findNode(file, pos) {
  let found;
  const visit = (node) => {
    if (pos >= node.getStart(file) && pos < node.getEnd()) {
      found = node;
      ts.forEachChild(node, visit);
    }
  };
  visit(file);
  return found;
}

// ---- layer: bundle ------------------------------------------------------------------------------

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]);
const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"]);
const SECRETISH = /(PASSW|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|DATABASE_URL|DB_URL|DSN)/i;

function podTemplate(o) {
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template;
  return o.spec?.template;
}

function matches(selector, labels) {
  if (!selector) return false;
  labels = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const matchesLabels = (sel, labels) => matches({ matchLabels: sel }, labels);

function probes(c) {
  return [
    ["readinessProbe", c.readinessProbe],
    ["livenessProbe", c.livenessProbe],
    ["startupProbe", c.startupProbe],
  ].filter(([, p]) => p);
}

function probePort(p) {
  return p.httpGet?.port ?? p.tcpSocket?.port ?? p.grpc?.port;
}

export function bundleLayer(objects, { external = [] } = {}) {
  const findings = [];
  const add = (o, message) => findings.push({ layer: "bundle", where: id(o), message });
  const byKind = (k) => objects.filter((o) => o?.kind === k);
  const named = (k, n, ns) =>
    byKind(k).find((o) => o.metadata?.name === n && (ns === undefined || (o.metadata?.namespace ?? ns) === ns));
  const isExternal = (kind, name) => external.includes(`${kind}/${name}`);

  const pods = []; // {owner, template, ns}
  for (const o of objects) {
    if (!o || !WORKLOADS.has(o.kind)) continue;
    const t = podTemplate(o);
    if (t) pods.push({ owner: o, template: t, ns: o.metadata?.namespace });
  }

  for (const o of objects) {
    if (!o?.kind) continue;
    const ns = o.metadata?.namespace;
    if (ns === "kube-system" || o.metadata?.name === "kube-system" && o.kind === "Namespace") {
      add(o, "the application must not live in kube-system");
    }

    // Workload selectors and pod templates.
    if (WORKLOADS.has(o.kind)) {
      const t = podTemplate(o);
      const labels = t?.metadata?.labels;
      let sel = o.kind === "CronJob" ? null : o.spec?.selector;
      if (sel && o.kind === "ReplicationController") sel = { matchLabels: sel }; // a plain map
      if (sel && !matches(sel, labels)) {
        add(o, `spec.selector ${JSON.stringify(sel.matchLabels ?? sel)} does not match the pod template labels ${JSON.stringify(labels ?? {})}`);
      }
      if (t?.spec) checkPod(o, t.spec, ns, LONG_RUNNING.has(o.kind));
    }

    if (o.kind === "Service" && o.spec?.selector && o.spec.type !== "ExternalName") {
      const targets = pods.filter((p) => p.ns === ns && matchesLabels(o.spec.selector, p.template.metadata?.labels));
      if (targets.length === 0) {
        add(o, `selector ${JSON.stringify(o.spec.selector)} matches no pod template in the bundle`);
      }
      for (const port of o.spec.ports ?? []) {
        const target = port.targetPort ?? port.port;
        for (const p of targets) {
          const declared = (p.template.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
          const ok = typeof target === "string"
            ? declared.some((d) => d.name === target && (d.protocol ?? "TCP") === (port.protocol ?? "TCP"))
            : declared.some((d) => d.containerPort === target && (d.protocol ?? "TCP") === (port.protocol ?? "TCP"));
          if (!ok) {
            add(o, `port ${port.name ?? port.port} targets ${JSON.stringify(target)}, which ${id(p.owner)} does not declare as a container port (declared: ${declared.map((d) => `${d.name ?? ""}:${d.containerPort}`).join(", ") || "none"})`);
          } else if (typeof target === "string" && port.port !== declared.find((d) => d.name === target).containerPort) {
            add(o, `port ${port.name ?? port.port}: Service port ${port.port} but the container port "${target}" is ${declared.find((d) => d.name === target).containerPort}`);
          }
        }
      }
    }

    if (o.kind === "PodDisruptionBudget" || o.kind === "NetworkPolicy") {
      const sel = o.kind === "PodDisruptionBudget" ? o.spec?.selector : o.spec?.podSelector;
      const empty = !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
      if (!(o.kind === "NetworkPolicy" && empty) &&
          !pods.some((p) => p.ns === ns && matches(sel, p.template.metadata?.labels))) {
        add(o, `selector ${JSON.stringify(sel)} matches no pod template in the bundle`);
      }
      if (o.kind === "NetworkPolicy") {
        for (const rule of o.spec?.ingress ?? []) {
          for (const from of rule.from ?? []) {
            if (from.podSelector && !from.namespaceSelector && Object.keys(from.podSelector.matchLabels ?? {}).length &&
                !pods.some((p) => p.ns === ns && matches(from.podSelector, p.template.metadata?.labels))) {
              add(o, `ingress from podSelector ${JSON.stringify(from.podSelector)} matches no pod template in the bundle`);
            }
          }
        }
      }
    }

    if (o.kind === "HorizontalPodAutoscaler") {
      const ref = o.spec?.scaleTargetRef;
      if (ref && !named(ref.kind, ref.name, ns)) add(o, `scaleTargetRef ${ref.kind}/${ref.name} is not in the bundle`);
    }

    if (o.kind === "StatefulSet" && o.spec?.serviceName) {
      const svc = named("Service", o.spec.serviceName, ns);
      if (!svc) add(o, `serviceName ${o.spec.serviceName}: no such Service in the bundle`);
      else if (svc.spec?.clusterIP !== "None") add(o, `serviceName ${o.spec.serviceName} is not a headless Service`);
    }
  }

  function refExists(owner, kind, name, key, optional, ns) {
    if (optional || isExternal(kind, name)) return;
    const target = named(kind, name, ns);
    if (!target) {
      add(owner, `references ${kind} ${name}, which is not in the bundle`);
      return;
    }
    if (key !== undefined) {
      const keys = new Set([...Object.keys(target.data ?? {}), ...Object.keys(target.stringData ?? {}), ...Object.keys(target.binaryData ?? {})]);
      if (!keys.has(key)) add(owner, `references key "${key}" of ${kind} ${name}, which has only: ${[...keys].join(", ")}`);
    }
  }

  function checkPod(owner, spec, ns, longRunning) {
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    const claimNames = new Set((owner.spec?.volumeClaimTemplates ?? []).map((c) => c.metadata?.name));
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) add(owner, "uses the host's network, PID or IPC namespace");
    const podSc = spec.securityContext ?? {};
    for (const v of volumes.values()) {
      if (v.configMap) refExists(owner, "ConfigMap", v.configMap.name, undefined, v.configMap.optional, ns);
      if (v.secret) refExists(owner, "Secret", v.secret.secretName, undefined, v.secret.optional, ns);
      if (v.hostPath) add(owner, `volume ${v.name} is a hostPath`);
    }
    const used = new Set();
    const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
    for (const c of containers) {
      const where = `container ${c.name}`;
      // Images: pinned.
      const image = c.image ?? "";
      const lastSegment = image.split("/").pop();
      if (!image) add(owner, `${where}: no image`);
      else if (!image.includes("@") && !lastSegment.includes(":")) add(owner, `${where}: image ${image} has no tag (means :latest)`);
      else if (!image.includes("@") && lastSegment.endsWith(":latest")) add(owner, `${where}: image ${image} uses :latest`);
      // Privileges.
      const sc = c.securityContext ?? {};
      if (sc.privileged) add(owner, `${where}: privileged`);
      if (sc.allowPrivilegeEscalation !== false) add(owner, `${where}: securityContext.allowPrivilegeEscalation must be false`);
      if (!(sc.runAsNonRoot ?? podSc.runAsNonRoot)) add(owner, `${where}: runAsNonRoot is not set`);
      if ((sc.runAsUser ?? podSc.runAsUser) === 0) add(owner, `${where}: runs as uid 0`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) add(owner, `${where}: capabilities are not dropped (drop: [ALL])`);
      if ((sc.capabilities?.add ?? []).length) add(owner, `${where}: adds capabilities ${sc.capabilities.add.join(", ")}`);
      // Environment: references exist; no secrets as literals.
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) {
          const r = e.valueFrom.secretKeyRef;
          refExists(owner, "Secret", r.name, r.key, r.optional, ns);
        }
        if (e.valueFrom?.configMapKeyRef) {
          const r = e.valueFrom.configMapKeyRef;
          refExists(owner, "ConfigMap", r.name, r.key, r.optional, ns);
        }
        if (e.value !== undefined) {
          const isPathToSecret = /_(FILE|PATH)$/.test(e.name) && String(e.value).startsWith("/");
          if (SECRETISH.test(e.name) && !isPathToSecret) {
            add(owner, `${where}: env ${e.name} is a literal; take it from a Secret (valueFrom.secretKeyRef or a mounted file)`);
          } else if (/:\/\/[^/\s:@]+:[^/\s@]+@/.test(String(e.value))) {
            add(owner, `${where}: env ${e.name} holds a URL with a password; take it from a Secret`);
          }
        }
      }
      for (const e of c.envFrom ?? []) {
        if (e.secretRef) refExists(owner, "Secret", e.secretRef.name, undefined, e.secretRef.optional, ns);
        if (e.configMapRef) refExists(owner, "ConfigMap", e.configMapRef.name, undefined, e.configMapRef.optional, ns);
      }
      // Volumes.
      for (const m of c.volumeMounts ?? []) {
        used.add(m.name);
        if (!volumes.has(m.name) && !claimNames.has(m.name)) add(owner, `${where}: mounts volume ${m.name}, which the pod does not declare`);
      }
      // Ports and probes.
      const declared = c.ports ?? [];
      const names = new Set();
      for (const p of declared) {
        if (p.name && names.has(p.name)) add(owner, `${where}: port name ${p.name} declared twice`);
        if (p.name) names.add(p.name);
      }
      for (const [kind, p] of probes(c)) {
        const port = probePort(p);
        if (port === undefined) continue;
        if (typeof port === "string" && !names.has(port)) {
          add(owner, `${where}: ${kind} uses port "${port}", which the container does not declare`);
        } else if (typeof port === "number" && !declared.some((d) => d.containerPort === port)) {
          add(owner, `${where}: ${kind} uses port ${port}, which the container does not declare`);
        }
      }
      const isInit = (spec.initContainers ?? []).includes(c);
      if (longRunning && !isInit) {
        if (!c.readinessProbe) add(owner, `${where}: no readinessProbe`);
        if (!c.livenessProbe) add(owner, `${where}: no livenessProbe`);
      }
      if (!c.resources?.requests || !c.resources?.limits) add(owner, `${where}: resources need requests and limits`);
      if (longRunning && !isInit && sc.readOnlyRootFilesystem !== true) add(owner, `${where}: readOnlyRootFilesystem is not true`);
    }
    for (const name of volumes.keys()) if (!used.has(name)) add(owner, `volume ${name} is declared but mounted by no container`);
  }

  return findings;
}

// ---- driver -------------------------------------------------------------------------------------

export function validate(objects, options = {}) {
  return [...schemaLayer(objects), ...typesLayer(objects), ...bundleLayer(objects, options)];
}

const format = (f) => `${f.layer}: ${f.where}: ${f.message}`;

function selfTest(dir) {
  let failed = 0;
  const files = fs.readdirSync(dir).filter((f) => /^(good|bad)-.*\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no fixtures in ${dir}`);
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    let findings;
    try {
      findings = validate(loadBundle(text));
    } catch (e) {
      findings = [{ layer: "load", where: file, message: String(e.message ?? e) }];
    }
    const expected = [...text.matchAll(/^# expect: (\w+): (.+)$/gm)].map((m) => ({ layer: m[1], text: m[2].trim() }));
    const problems = [];
    if (file.startsWith("good-")) {
      findings.forEach((f) => problems.push(`unexpected ${format(f)}`));
    } else {
      if (expected.length === 0) problems.push("a bad-* fixture needs `# expect: LAYER: TEXT` lines");
      for (const e of expected) {
        if (!findings.some((f) => f.layer === e.layer && format(f).includes(e.text))) problems.push(`missed ${e.layer}: ${e.text}`);
      }
      for (const f of findings) {
        if (!expected.some((e) => f.layer === e.layer && format(f).includes(e.text))) problems.push(`unexpected ${format(f)}`);
      }
    }
    if (problems.length) {
      failed++;
      console.log(`FAIL ${file}`);
      problems.forEach((p) => console.log(`  ${p}`));
    } else {
      console.log(`ok   ${file}: ${file.startsWith("good-") ? "accepted" : `rejected (${findings.length} findings)`}`);
      if (file.startsWith("bad-")) findings.forEach((f) => console.log(`       ${format(f)}`));
    }
  }
  return failed === 0;
}

function main(argv) {
  if (argv[0] === "--self-test") return selfTest(argv[1] ?? path.join(here, "fixtures")) ? 0 : 1;
  const external = [];
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--external") external.push(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0) {
    console.error("usage: node validate.mjs [--external Kind/name]... FILE.yaml... | --self-test DIR");
    return 2;
  }
  let bad = 0;
  for (const file of files) {
    const objects = loadBundle(fs.readFileSync(file === "-" ? 0 : file, "utf8"));
    const findings = validate(objects, { external });
    if (findings.length) {
      bad++;
      console.log(`FAIL ${file}: ${findings.length} findings`);
      findings.forEach((f) => console.log(`  ${format(f)}`));
    } else {
      console.log(`ok   ${file}: ${objects.length} objects pass schema, types and bundle checks`);
    }
  }
  return bad ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
