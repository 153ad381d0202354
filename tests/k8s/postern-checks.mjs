// Checks of the rendered Postern bundles that only this project knows: the relay's config and
// its manifest agree (ports, file paths, grace periods), the relay connects as its own PostgreSQL
// role and never sees the owner's credentials, the Secrets agree with each other, and each overlay
// does what it promises (dev: DEV-ONLY Secrets, marked; production: none of them).
//   node postern-checks.mjs OVERLAY FILE.yaml      OVERLAY: dev or production
import fs from "node:fs";
import yaml from "js-yaml";

const [overlay, file] = process.argv.slice(2);
const objects = yaml.loadAll(fs.readFileSync(file, "utf8")).filter(Boolean);
const problems = [];
const check = (ok, message) => { if (!ok) problems.push(message); };
const find = (kind, prefix) => objects.filter((o) => o.kind === kind && o.metadata.name.startsWith(prefix));

const named = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const deploy = named("Deployment", "postern");
const pod = deploy.spec.template.spec;
const relay = pod.containers.find((c) => c.name === "postern");
const cmName = pod.volumes.find((v) => v.configMap)?.configMap.name;
const [cm] = objects.filter((o) => o.kind === "ConfigMap" && o.metadata.name === cmName);
const config = yaml.load(cm.data["postern.yaml"]);
const ports = Object.fromEntries(relay.ports.map((p) => [p.name, p.containerPort]));

// Every object but the Namespace itself in postern: one left without (a Secret an overlay
// generates) would go to the default namespace, and its references would not be renamed.
for (const o of objects) {
  if (o.kind !== "Namespace") check(o.metadata?.namespace === "postern", `${o.kind}/${o.metadata.name}: namespace ${o.metadata?.namespace}`);
}
check(config.listeners.some((l) => l.port === ports.smtp), `no listener on the smtp container port ${ports.smtp}`);
check(config.http?.port === ports.http, `http.port ${config.http?.port} is not the http container port ${ports.http}`);
check(relay.args.join(" ") === "--config /etc/postern/postern.yaml", `args: ${relay.args}`);
const mountOf = (path) => relay.volumeMounts.find((m) => path.startsWith(m.mountPath + "/"));
for (const path of ["/etc/postern/postern.yaml", config.tls?.certificate, config.tls?.key,
                    ...(config.upstreams ?? []).map((u) => u.password_file).filter(Boolean)]) {
  check(path && mountOf(path), `${path}: no volume is mounted there`);
}
check(relay.readinessProbe?.httpGet?.path === "/readyz" && relay.readinessProbe.httpGet.port === "http", "readinessProbe is not GET /readyz on http");
check(relay.livenessProbe?.httpGet?.path === "/healthz" && relay.livenessProbe.httpGet.port === "http", "livenessProbe is not GET /healthz on http");
const preStop = Number(relay.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
check(pod.terminationGracePeriodSeconds > (config.shutdown_grace_seconds ?? 30) + preStop,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= shutdown_grace_seconds ${config.shutdown_grace_seconds} + preStop ${preStop}`);
check(relay.env.find((e) => e.name === "POSTERN_DATABASE_URL")?.valueFrom?.secretKeyRef, "POSTERN_DATABASE_URL is not from a Secret");
check(config.database?.url === undefined, "database.url is inline in the ConfigMap");
check(relay.env.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath === "metadata.name", "POD_NAME (the lease identity) is not the pod's name");
check(relay.securityContext.runAsUser === 10001 && relay.securityContext.readOnlyRootFilesystem === true, "relay not uid 10001 with a read-only root");
check(relay.volumeMounts.some((m) => m.mountPath === "/tmp"), "no /tmp volume");
check(relay.volumeMounts.some((m) => m.mountPath === config.queue?.spool_directory),
      `queue.spool_directory ${config.queue?.spool_directory} is not a mounted volume (the root is read-only)`);
const [job] = find("Job", "postern-migrate");
check(job && job.spec.template.spec.containers[0].args?.[0] === "migrate", "no migration Job running `mailadmin migrate`");
const [pg] = find("StatefulSet", "postgres");

// Two PostgreSQL roles. Secret values are read from the rendered Secrets (the committed dev ones,
// or production's *.example files), following the references of env and mounted files.
const text = (value) => Buffer.from(value, "base64").toString("utf8");
const secretKey = (name, key) => {
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === name);
  return secret?.data?.[key] === undefined ? undefined : text(secret.data[key]).replace(/\r?\n$/, "");
};
const envSecret = (container, name) => container?.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
const fileSecret = (podSpec, container, path) => {  // {name, key} of the Secret file mounted at path
  const mount = container?.volumeMounts?.find((m) => path?.startsWith(m.mountPath + "/"));
  const volume = podSpec?.volumes?.find((v) => v.name === mount?.name);
  return volume?.secret ? { name: volume.secret.secretName, key: path.slice(mount.mountPath.length + 1), volume } : undefined;
};
const urlParts = (url) => {
  const m = /^postgres(?:ql)?:\/\/([^:@/]+)(?::([^@/]*))?@/.exec(url ?? "");
  return m ? { user: m[1], password: m[2] } : undefined;
};
const jobPod = job?.spec.template.spec;
const jobContainer = jobPod?.containers[0];
const ownerRef = envSecret(jobContainer, "DATABASE_URL");
const relayRef = envSecret(relay, "POSTERN_DATABASE_URL");
const owner = urlParts(ownerRef && secretKey(ownerRef.name, ownerRef.key));
const relayRole = urlParts(relayRef && secretKey(relayRef.name, relayRef.key));
check(owner && relayRole, "the migration Job's DATABASE_URL or the relay's POSTERN_DATABASE_URL is not a postgresql:// URL from a Secret");
check(owner?.user !== relayRole?.user, `the relay connects as ${relayRole?.user}, the owner of the schema: it needs a role of its own`);
const relayPodSecrets = [...relay.env.map((e) => e.valueFrom?.secretKeyRef?.name), ...pod.volumes.map((v) => v.secret?.secretName)];
check(!relayPodSecrets.includes(ownerRef?.name) && !relay.env.some((e) => e.name === "DATABASE_URL"),
      "the relay pod can read the owner's URL");
const args = jobContainer?.args ?? [];
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
check(option("--relay-role") === relayRole?.user,
      `the migration Job sets up --relay-role ${option("--relay-role")}, the relay connects as ${relayRole?.user}`);
const passwordFile = fileSecret(jobPod, jobContainer, option("--relay-password-file"));
check(passwordFile && secretKey(passwordFile.name, passwordFile.key) === relayRole?.password,
      `the migration Job's --relay-password-file ${option("--relay-password-file")} is not a mounted Secret holding the password of the relay's URL`);
check(passwordFile && ((passwordFile.volume.secret.defaultMode ?? 0o644) & 0o004 || jobPod.securityContext?.fsGroup === jobContainer.securityContext?.runAsUser),
      "the migration Job's uid cannot read --relay-password-file (no fsGroup)");
const pgContainer = pg?.spec.template.spec.containers[0];
const pgUser = pgContainer?.env?.find((e) => e.name === "POSTGRES_USER")?.value;
const pgPassword = fileSecret(pg?.spec.template.spec, pgContainer, pgContainer?.env?.find((e) => e.name === "POSTGRES_PASSWORD_FILE")?.value);
check(pgUser === owner?.user && pgPassword && secretKey(pgPassword?.name, pgPassword?.key) === owner?.password,
      "PostgreSQL's user and password (POSTGRES_USER, POSTGRES_PASSWORD_FILE) are not the owner's URL's");
const admin = named("Deployment", "postern-admin");
check(admin?.spec.replicas === 0, "postern-admin (mailadmin as the owner) is not scaled to 0");
check(envSecret(admin?.spec.template.spec.containers[0], "DATABASE_URL")?.name === ownerRef?.name,
      "postern-admin's DATABASE_URL is not the owner's URL");

// DEV-ONLY values: a committed secret or the dev certificate (whose subject says DEV ONLY).
const devOnly = (secret) => Object.values(secret.data ?? {}).some((value) => {
  const plain = text(value);
  const pem = [...plain.matchAll(/-----BEGIN [A-Z ]+-----([^-]+)-----END/g)].map((m) => text(m[1].replace(/\s+/g, "")));
  return /DEV[- ]ONLY/.test(plain + pem.join(""));
});
const secrets = objects.filter((o) => o.kind === "Secret");
check(pg && !/:latest$|^[^:]+$/.test(pg.spec.template.spec.containers[0].image), "PostgreSQL image not pinned");
const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === "postern");
check(svc && svc.spec.ports.map((p) => `${p.name}:${p.port}`).sort().join(",") === "http:9100,smtp:9000", "Service postern is not smtp 9000 + http 9100");

const policies = objects.filter((o) => o.kind === "NetworkPolicy");
const relayPolicy = policies.find((o) => o.metadata.name === "postern-relay");
const httpRule = relayPolicy?.spec.ingress?.find((r) => r.ports?.some((p) => p.port === 9100));
check(httpRule && httpRule.from.every((f) => f.ipBlock || f.podSelector?.matchLabels?.["app.kubernetes.io/part-of"] === "monitoring"),
      "port 9100 is open to more than monitoring pods and the node network");
const egress = policies.find((o) => o.metadata.name === "postern-egress");
const egressPorts = (egress?.spec.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port)).sort((a, b) => a - b);
check(egress?.spec.policyTypes?.includes("Egress") && egressPorts.join(",") === "25,53,53,465,587,5432",
      `the relay's egress is not PostgreSQL, DNS and the upstream ports: ${egressPorts}`);

const loopback = config.listeners.some((l) => l.allow_plaintext_auth_on_loopback);
const hpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler");
if (overlay === "dev") {
  check(secrets.length > 0 && secrets.every((o) => o.metadata.annotations?.["postern/dev-only"]),
        "dev: a Secret without the annotation postern/dev-only");
  check(secrets.every(devOnly), "dev: a Secret holds no DEV-ONLY value");
  check(deploy.spec.replicas === 1, `dev: replicas ${deploy.spec.replicas}`);
  check(loopback, "dev: plaintext AUTH on loopback is not allowed (port-forward flow)");
  check(!hpa, "dev: an HPA would scale the one replica");
} else if (overlay === "production") {
  const dev = secrets.filter((o) => devOnly(o) || o.metadata.annotations?.["postern/dev-only"]);
  check(dev.length === 0, `production: DEV-ONLY values in ${dev.map((o) => o.metadata.name)}`);
  check(deploy.spec.replicas === 3, `production: replicas ${deploy.spec.replicas}`);
  check(!loopback, "production: plaintext AUTH allowed");
  check(config.tls?.certificate && config.tls?.key, "production: no TLS");
  check(hpa?.spec.minReplicas === 3, `production: HPA minReplicas ${hpa?.spec.minReplicas}`);
  check(objects.some((o) => o.kind === "PodDisruptionBudget"), "production: no PodDisruptionBudget");
} else {
  problems.push(`unknown overlay ${overlay}`);
}
if (problems.length) {
  console.log(`FAIL ${overlay}: ${problems.join("; ")}`);
  process.exitCode = 1;
} else {
  console.log(`ok   ${overlay}: the relay's config and manifest agree`);
}
