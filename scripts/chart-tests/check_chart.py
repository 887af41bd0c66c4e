#!/usr/bin/env python3
"""Render the autonity-validator chart with real `helm` and check what it would install.

Usage: check_chart.py HELM CHART_DIR REPO_DIR

For every values file in CHART_DIR/ci/: `helm lint --strict` and `helm template`, then the
rendered objects are checked against what the values ask for (expected command lines are
rebuilt here from the values, independently of the templates). Every file in
scripts/chart-tests/bad/ must make `helm template` fail with the message its `# expect:` line
names. Prints one line per check group and ends with 'N passed, N failed'.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import yaml

HELM, CHART, REPO = sys.argv[1], sys.argv[2], sys.argv[3]
BAD_DIR = os.path.join(REPO, "scripts", "chart-tests", "bad")
RELEASE = "acme"

passed = 0
failed = 0


def ok(name):
    global passed
    passed += 1
    print(f"ok   {name}")


def fail(name, why):
    global failed
    failed += 1
    print(f"FAIL {name}: {why}")


class Check:
    """Collects the problems of one check group; reports it as one line."""

    def __init__(self, name):
        self.name = name
        self.problems = []

    def expect(self, cond, why):
        if not cond:
            self.problems.append(why)

    def eq(self, got, want, what):
        if got != want:
            self.problems.append(f"{what}: got {got!r}, want {want!r}")

    def done(self):
        if self.problems:
            fail(self.name, "; ".join(self.problems))
        else:
            ok(self.name)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def template(values_file, chart=CHART):
    r = run([HELM, "template", RELEASE, chart, "-f", values_file])
    if r.returncode != 0:
        return None, r.stderr.strip()
    return [d for d in yaml.safe_load_all(r.stdout) if d], None


def find(objs, kind, suffix=None):
    return [o for o in objs if o["kind"] == kind and (suffix is None or o["metadata"]["name"].endswith(suffix))]


def container(pod_spec, name, init=False):
    key = "initContainers" if init else "containers"
    for c in pod_spec.get(key, []):
        if c["name"] == name:
            return c
    return None


def flag(args, name):
    """Value of `--name VALUE` in an argument list (None if absent)."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def flag_names(args):
    return {a for a in args if a.startswith("--")}


# ---------- expectations rebuilt from the values ----------

def manifest_of(v):
    if v["manifest"].get("content"):
        return tomllib.loads(v["manifest"]["content"])
    return None


def profile_of(v):
    m = manifest_of(v)
    return v.get("profile") or m["ceremony"]["profile"]


def network_id_of(v):
    if v.get("networkId") is not None:
        return str(v["networkId"])
    g = manifest_of(v)["genesis"]
    return str(g.get("network_id", g["chain_id"]))


def ports_of(v):
    if v["service"]["type"] == "NodePort":
        return v["service"]["nodePorts"]["p2p"], v["service"]["nodePorts"]["consensus"]
    return v["ports"]["p2p"], v["ports"]["consensus"]


def keys_dir_of(v):
    return "/etc/dnsceremony/keys" if v["keys"].get("existingSecret") else "/data/keys"


def dns_args_of(v):
    a = []
    if v["dns"]["anchor"].get("content") or v["dns"]["anchor"].get("existingConfigMap"):
        a += ["--anchor", "/etc/dnsceremony/anchor/anchor.keys"]
    for r in v["dns"].get("roots") or []:
        a += ["--root", r]
    if v["dns"].get("resolver"):
        a += ["--resolver", v["dns"]["resolver"]]
    return a


def expected_init_args(v):
    """The planned `dnsceremony run` command line, Phases 2-3 only, as the testnet runs it."""
    p2p, consensus = ports_of(v)
    a = ["run", "--manifest", "/etc/dnsceremony/manifest/manifest.toml", "--org", v["org"],
         "--keys", keys_dir_of(v), "--ip", v["publicIP"], "--port", str(p2p)]
    if profile_of(v) == "v1":
        a += ["--consensus-port", str(consensus)]
    if v.get("treasury"):
        a += ["--treasury", v["treasury"]]
    a += ["--server", v["dns"]["server"], "--tsig", "/etc/dnsceremony/tsig/tsig.key"]
    a += dns_args_of(v)
    if v["ceremony"].get("interval"):
        a += ["--interval", v["ceremony"]["interval"]]
    if v["ceremony"].get("deadline"):
        a += ["--deadline", v["ceremony"]["deadline"]]
    a += ["--datadir", "/data", "--until", "genesis"]
    return a + list(v["ceremony"].get("extraArgs") or [])


def expected_client_args(v):
    """autonity.md "Running the client", per profile."""
    p2p, consensus = ports_of(v)
    prof = profile_of(v)
    keyfile = "autonitykeys" if prof == "v1" else "nodekey"
    a = ["--datadir", "/data/node", "--genesis", "/data/genesis.json",
         "--config", "/data/node/config.toml", "--syncmode", "full",
         "--autonitykeys" if prof == "v1" else "--nodekey", f"{keys_dir_of(v)}/{keyfile}",
         "--port", str(p2p)]
    if prof == "v1":
        a += ["--consensus.port", str(consensus)]
    a += ["--networkid", network_id_of(v)]
    a += ["--nat", f"extip:{v['publicIP']}"]
    if prof == "v1":
        a += ["--consensus.nat", f"extip:{v['publicIP']}"]
    a += ["--http",
          "--http.addr", "0.0.0.0" if v["rpc"]["expose"] else "127.0.0.1",
          "--http.port", str(v["rpc"]["port"]), "--http.api", v["rpc"]["api"]]
    if prof == "v0.7":
        a += ["--mine"]
    if v["rpc"]["expose"] and v["rpc"].get("vhosts"):
        a += ["--http.vhosts", v["rpc"]["vhosts"]]
    return a + list(v["autonity"].get("extraArgs") or [])


def testnet_run_flags():
    """Flag names of the testnet validators' `dnsceremony run` (None if it has none yet)."""
    cands = [os.path.join(REPO, "testnet", "images", "node", "validator"),
             os.path.join(REPO, "testnet", "docker-compose.yml")]
    for path in cands:
        if not os.path.exists(path):
            continue
        text = open(path).read().replace("\\\n", " ")
        for line in text.splitlines():
            m = re.search(r"dnsceremony\s+run\s(.*)", line)
            if m and not line.lstrip().startswith("#"):
                return path, set(re.findall(r"(--[a-z][a-z0-9-]*)", m.group(1)))
    return None, None


def image_ref(img, default_tag):
    """repository:tag, with @digest when one is given."""
    ref = f"{img['repository']}:{img.get('tag') or default_tag}"
    return ref + (f"@{img['digest']}" if img.get("digest") else "")


def pull_policy(img):
    """As set, else IfNotPresent for a digest and Always for a tag alone."""
    return img.get("pullPolicy") or ("IfNotPresent" if img.get("digest") else "Always")


def app_version():
    return yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))["appVersion"]


# ---------- checks of one rendering ----------

KEYISH = re.compile(r"(?i)\bsecret\s+\"[A-Za-z0-9+/=]{16,}\"|\b[0-9a-fA-F]{64}\b|-----BEGIN")


def check_rendering(name, v, objs):
    prof = profile_of(v)
    p2p, consensus = ports_of(v)
    keys_dir = keys_dir_of(v)

    c = Check(f"{name}: objects")
    sts = find(objs, "StatefulSet")
    c.eq(len(sts), 1, "StatefulSets")
    c.eq(len(find(objs, "Service", "-p2p")), 1, "p2p Service")
    c.eq(len(find(objs, "Service", "-rpc")), 1 if v["rpc"]["expose"] else 0, "rpc Service")
    c.eq(len(find(objs, "CronJob")), 1 if v["audit"]["enabled"] else 0, "audit CronJob")
    c.eq(len(find(objs, "Secret")), 1 if (v["dns"]["tsig"].get("content") and not v["dns"]["tsig"].get("existingSecret")) else 0, "Secrets made by the chart")
    c.eq(len(find(objs, "NetworkPolicy")), 1 if v["networkPolicy"]["enabled"] else 0, "NetworkPolicy")
    # Installed into the release's namespace (helm template: `default`), never left implicit.
    for o in objs:
        c.eq(o["metadata"].get("namespace"), "default", f"{o['kind']} {o['metadata']['name']} namespace")
    c.done()
    if len(sts) != 1:
        return
    st = sts[0]
    spec = st["spec"]["template"]["spec"]
    init = container(spec, "ceremony", init=True)
    auto = container(spec, "autonity")
    chk = container(spec, "check")

    c = Check(f"{name}: StatefulSet and data volume")
    c.eq(st["spec"]["replicas"], 1, "replicas")
    vct = st["spec"].get("volumeClaimTemplates") or []
    c.eq([t["metadata"]["name"] for t in vct], ["data"], "volumeClaimTemplates")
    if vct:
        c.eq(vct[0]["spec"]["resources"]["requests"]["storage"], v["persistence"]["size"], "volume size")
    c.eq(st["spec"]["serviceName"], st["metadata"]["name"] + "-headless", "serviceName")
    c.expect(any(o["metadata"]["name"] == st["spec"]["serviceName"] for o in find(objs, "Service")), "governing Service missing")
    c.eq([x["name"] for x in spec.get("initContainers", [])], (["manifest"] if v["manifest"].get("operator") else []) + ["ceremony"], "init containers")
    if v["manifest"].get("operator"):
        c.eq(container(spec, "manifest", init=True)["args"], ["manifest", "check", "/etc/dnsceremony/manifest/manifest.toml", "--operator", v["manifest"]["operator"]], "manifest signature check")
    c.eq([x["name"] for x in spec["containers"]], ["autonity"] + (["check"] if v["check"]["enabled"] else []), "containers")
    c.done()

    c = Check(f"{name}: init container runs the testnet's `dnsceremony run` (Phases 2-3)")
    c.expect("command" not in init, "init overrides the image entrypoint (tini + dnsceremony)")
    c.eq(init["args"], expected_init_args(v), "init args")
    path, tn = testnet_run_flags()
    if tn is not None:
        ours = flag_names(init["args"])
        missing = tn - ours - {"--autonity", "--rpc-port"}
        c.expect(not missing, f"flags the testnet's run uses but the chart does not: {sorted(missing)} ({path})")
    else:
        print(f"     (testnet has no `dnsceremony run` line yet: compared with the planned CLI only)")
    c.done()

    c = Check(f"{name}: client started with the {prof} profile's flags")
    c.eq(auto.get("args"), expected_client_args(v), "client args")
    c.eq(auto["image"], image_ref(v["autonity"]["image"], None), "client image")
    if v["autonity"].get("command"):
        c.eq(auto.get("command"), v["autonity"]["command"], "client command")
    else:
        c.expect("command" not in auto, "client command set although autonity.command is empty")
    # The genesis and data dir the client uses are the ones the init container writes.
    c.eq(flag(auto["args"], "--datadir"), flag(init["args"], "--datadir") + "/node", "client datadir (run puts it in <datadir>/node)")
    c.eq(flag(auto["args"], "--genesis"), flag(init["args"], "--datadir") + "/genesis.json", "genesis path")
    c.done()

    c = Check(f"{name}: ports (published = listened = Service)")
    cports = {p["name"]: p for p in auto.get("ports", [])}
    c.eq(cports.get("p2p", {}).get("containerPort"), p2p, "p2p containerPort")
    c.eq(int(flag(init["args"], "--port")), p2p, "published p2p port")
    c.eq(int(flag(auto["args"], "--port")), p2p, "client --port")
    if prof == "v1":
        c.eq(cports.get("consensus", {}).get("containerPort"), consensus, "consensus containerPort")
        c.eq(int(flag(init["args"], "--consensus-port")), consensus, "published consensus port")
    else:
        c.expect("consensus" not in cports, "v0.7 has no consensus port")
        c.expect("--consensus-port" not in init["args"] and "--consensus.port" not in auto["args"], "v0.7 passes a consensus port")
    c.eq("rpc" in cports, bool(v["rpc"]["expose"]), "rpc containerPort only when exposed")
    svc = find(objs, "Service", "-p2p")[0]
    c.eq(svc["spec"]["type"], v["service"]["type"], "Service type")
    c.eq(svc["spec"].get("publishNotReadyAddresses"), True, "publishNotReadyAddresses (peers must reach the pod before it is Ready)")
    sports = {p["name"]: p for p in svc["spec"]["ports"]}
    want_names = ["p2p", "consensus"] if prof == "v1" else ["p2p"]
    c.eq(sorted(sports), sorted(want_names), "Service port names")
    for pname in want_names:
        sp = sports.get(pname, {})
        want = p2p if pname == "p2p" else consensus
        c.eq(sp.get("port"), want, f"Service {pname} port")
        c.eq(sp.get("protocol"), "TCP", f"Service {pname} protocol")
        c.expect(sp.get("targetPort") in cports, f"Service {pname} targetPort {sp.get('targetPort')!r} is not a container port")
        if v["service"]["type"] == "NodePort":
            c.eq(sp.get("nodePort"), want, f"Service {pname} nodePort")
        else:
            c.expect("nodePort" not in sp, f"Service {pname} sets a nodePort with type LoadBalancer")
    if v["service"]["type"] == "LoadBalancer" and v["service"].get("loadBalancerIP"):
        c.eq(svc["spec"].get("loadBalancerIP"), v["service"]["loadBalancerIP"], "loadBalancerIP")
    for o in find(objs, "Service"):
        if not o["metadata"]["name"].endswith("-rpc"):
            c.expect(all(p["name"] != "rpc" and p["port"] != v["rpc"]["port"] for p in o["spec"]["ports"]), f"RPC on Service {o['metadata']['name']}")
    if v["rpc"]["expose"]:
        c.eq(find(objs, "Service", "-rpc")[0]["spec"]["type"], "ClusterIP", "rpc Service type")
    c.done()

    c = Check(f"{name}: probes")
    lp = auto.get("livenessProbe") or {}
    c.eq(lp.get("tcpSocket", {}).get("port"), "p2p", "client liveness probe")
    c.eq((auto.get("readinessProbe") or {}).get("tcpSocket", {}).get("port"), "p2p", "client readiness probe")
    if v["check"]["enabled"]:
        rp = chk.get("readinessProbe") or {}
        cmd = rp.get("exec", {}).get("command") or []
        c.eq(cmd[:2], ["dnsceremony", "check"], "readiness probe command")
        c.eq(flag(cmd, "--rpc"), f"http://127.0.0.1:{v['rpc']['port']}", "probe --rpc")
        c.eq(flag(cmd, "--genesis"), "/data/genesis.json", "probe --genesis")
        c.eq(flag(cmd, "--keys"), keys_dir, "probe --keys")
        c.expect("--watch" not in cmd, "probe must be one-shot")
        w = flag(cmd, "--window") or ""
        secs = int(w[:-1]) * {"s": 1, "m": 60, "h": 3600}[w[-1]] if re.fullmatch(r"\d+[smh]", w) else None
        c.expect(secs is not None and secs < rp.get("timeoutSeconds", 1), f"probe window {w} must end before timeoutSeconds {rp.get('timeoutSeconds')}")
        c.eq(chk["args"][:2], ["check", "--watch"], "sidecar runs check --watch")
        c.eq(flag(chk["args"], "--rpc"), f"http://127.0.0.1:{v['rpc']['port']}", "sidecar --rpc")
        c.eq(flag(chk["args"], "--keys"), keys_dir, "sidecar --keys")
        c.eq(flag(chk["args"], "--genesis"), "/data/genesis.json", "sidecar --genesis")
        c.eq(flag(chk["args"], "--alarm-cmd"), v["check"]["alarm"].get("command") or None, "sidecar --alarm-cmd")
        c.expect("livenessProbe" not in chk, "an alarm must not restart the sidecar")
    c.done()

    c = Check(f"{name}: images, pull policies, CPU and memory limits")
    ours = image_ref(v["image"], app_version())
    pods = [("StatefulSet", spec)] + [("CronJob", cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]) for cj in find(objs, "CronJob")]
    for kind, ps in pods:
        for ctr in ps.get("initContainers", []) + ps["containers"]:
            img = v["autonity"]["image"] if ctr["name"] == "autonity" else v["image"]
            want = image_ref(img, None) if ctr["name"] == "autonity" else ours
            c.eq(ctr["image"], want, f"{kind}/{ctr['name']} image")
            c.eq(ctr.get("imagePullPolicy"), pull_policy(img), f"{kind}/{ctr['name']} imagePullPolicy")
            limits = (ctr.get("resources") or {}).get("limits") or {}
            c.expect("cpu" in limits and "memory" in limits, f"{kind}/{ctr['name']} lacks a CPU or memory limit: {limits}")
    c.done()

    if v["networkPolicy"]["enabled"]:
        c = Check(f"{name}: NetworkPolicy admits the peers to p2p/consensus, RPC only when exposed")
        np = find(objs, "NetworkPolicy")[0]["spec"]
        c.eq(np["podSelector"]["matchLabels"], st["spec"]["selector"]["matchLabels"], "selects the validator pod")
        rules = np.get("ingress") or []
        peer_ports = sorted(p["port"] for p in rules[0]["ports"]) if rules else []
        c.eq(peer_ports, sorted([p2p, consensus] if prof == "v1" else [p2p]), "peer ports")
        cidrs = [f["ipBlock"]["cidr"] for f in (rules[0].get("from") or [])] if rules else []
        c.eq(cidrs, list(v["networkPolicy"]["peerCIDRs"] or []), "peer source CIDRs")
        rpc_rules = [r for r in rules[1:] if any(p["port"] == v["rpc"]["port"] for p in r["ports"])]
        c.eq(len(rpc_rules), 1 if v["rpc"]["expose"] else 0, "RPC ingress rule")
        c.eq("Egress" in np["policyTypes"], bool(v["networkPolicy"]["egress"]), "egress restricted only when rules are given")
        c.done()

    c = Check(f"{name}: security context (non-root, read-only root fs)")
    pods = [("StatefulSet", spec)] + [("CronJob", cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]) for cj in find(objs, "CronJob")]
    for kind, ps in pods:
        psc = ps.get("securityContext") or {}
        c.eq(psc.get("runAsNonRoot"), True, f"{kind} pod runAsNonRoot")
        c.expect(psc.get("runAsUser", 0) != 0, f"{kind} pod runAsUser is root")
        c.eq(ps.get("automountServiceAccountToken"), False, f"{kind} automountServiceAccountToken")
        for ctr in ps.get("initContainers", []) + ps["containers"]:
            sc = ctr.get("securityContext") or {}
            c.eq(sc.get("readOnlyRootFilesystem"), True, f"{kind}/{ctr['name']} readOnlyRootFilesystem")
            c.eq(sc.get("allowPrivilegeEscalation"), False, f"{kind}/{ctr['name']} allowPrivilegeEscalation")
            c.eq(sc.get("runAsNonRoot"), True, f"{kind}/{ctr['name']} runAsNonRoot")
            c.expect("ALL" in (sc.get("capabilities") or {}).get("drop", []), f"{kind}/{ctr['name']} does not drop ALL capabilities")
            c.expect(not sc.get("privileged"), f"{kind}/{ctr['name']} privileged")
            c.expect(any(m["mountPath"] == "/tmp" for m in ctr.get("volumeMounts", [])), f"{kind}/{ctr['name']} has no writable /tmp")
    c.done()

    c = Check(f"{name}: secrets only referenced, no key material in ConfigMaps")
    for cm in find(objs, "ConfigMap"):
        for k, val in (cm.get("data") or {}).items():
            c.expect(not KEYISH.search(val), f"ConfigMap {cm['metadata']['name']} key {k} looks like key material")
            if v["dns"]["tsig"].get("content"):
                c.expect(v["dns"]["tsig"]["content"].strip() not in val, f"TSIG key in ConfigMap {cm['metadata']['name']}")
    for ctr in spec.get("initContainers", []) + spec["containers"]:
        c.expect(not ctr.get("env") and not ctr.get("envFrom"), f"{ctr['name']} passes environment (secrets belong in files)")
        for a in ctr.get("args", []) + (ctr.get("command") or []):
            c.expect(not KEYISH.search(a), f"{ctr['name']} has key-like material on its command line")
    vols = {vol["name"]: vol for vol in spec["volumes"]}
    tsig_secret = v["dns"]["tsig"].get("existingSecret") or f"{RELEASE}-autonity-validator-tsig"
    c.eq(vols.get("tsig", {}).get("secret", {}).get("secretName"), tsig_secret, "TSIG volume Secret")
    c.expect(vols.get("tsig", {}).get("secret", {}).get("defaultMode") == 0o400, "TSIG files mode 0400")
    tsig_users = [x["name"] for x in spec.get("initContainers", []) + spec["containers"] if any(m["name"] == "tsig" for m in x.get("volumeMounts", []))]
    c.eq(tsig_users, ["ceremony"], "containers that see the TSIG key")
    if v["keys"].get("existingSecret"):
        kv = vols.get("keys", {}).get("secret", {})
        c.eq(kv.get("secretName"), v["keys"]["existingSecret"], "keys volume Secret")
        c.eq(sorted(i["key"] for i in kv.get("items", [])), ["autonitykeys", "oraclekey"] if prof == "v1" else ["nodekey"], "key files taken from the Secret")
        c.eq(kv.get("defaultMode"), 0o400, "key files mode")
        for x in spec.get("initContainers", []) + spec["containers"]:
            for m in x.get("volumeMounts", []):
                if m["name"] == "keys":
                    c.eq(m.get("readOnly"), True, f"{x['name']} keys mount readOnly")
    else:
        c.expect("keys" not in vols, "keys volume without keys.existingSecret")
    for s in find(objs, "Secret"):
        c.eq(s["metadata"]["name"], f"{RELEASE}-autonity-validator-tsig", "only the inline TSIG key becomes a Secret")
        c.expect("stringData" not in s, "Secret uses stringData")
    for vol in spec["volumes"] + [x for cj in find(objs, "CronJob") for x in cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]]:
        c.expect("hostPath" not in vol, f"hostPath volume {vol['name']}")
    if v["audit"]["enabled"]:
        cj = find(objs, "CronJob")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        c.expect(all(vol["name"] not in ("tsig", "keys", "data") for vol in cj["volumes"]), "the audit Job sees keys, TSIG or data")
    c.done()

    if v["audit"]["enabled"]:
        c = Check(f"{name}: daily audit CronJob")
        cj = find(objs, "CronJob")[0]
        c.eq(cj["spec"]["schedule"], v["audit"]["schedule"], "schedule")
        c.eq(cj["spec"]["concurrencyPolicy"], "Forbid", "concurrencyPolicy")
        a = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
        audit_dns = [x for i, x in enumerate(dns_args_of(v)) if "--resolver" not in dns_args_of(v)[max(i - 1, 0):i + 1]]
        c.eq(a, ["audit", "--manifest", "/etc/dnsceremony/manifest/manifest.toml"] + audit_dns + ["--format", v["audit"]["format"], "--warn-days", str(v["audit"]["warnDays"])], "audit args")
        c.done()


def notes_of(values_file):
    """NOTES.txt rendered by `helm template` (copied into a throwaway ConfigMap)."""
    tmp = tempfile.mkdtemp()
    try:
        dst = os.path.join(tmp, "chart")
        shutil.copytree(CHART, dst)
        notes = open(os.path.join(dst, "templates", "NOTES.txt")).read()
        open(os.path.join(dst, "templates", "_notes_test.tpl"), "w").write('{{- define "notes.test" -}}\n' + notes + "{{- end -}}\n")
        open(os.path.join(dst, "templates", "zz_notes_test.yaml"), "w").write(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ include \"notes.test\" . | toJson }}\n")
        r = run([HELM, "template", RELEASE, dst, "-f", values_file, "--show-only", "templates/zz_notes_test.yaml"])
        if r.returncode != 0:
            return None
        return yaml.safe_load(r.stdout)["data"]["notes"]
    finally:
        shutil.rmtree(tmp)


def main():
    defaults = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    ci = sorted(f for f in os.listdir(os.path.join(CHART, "ci")) if f.endswith(".yaml"))
    if len(ci) < 4:
        fail("ci values files", f"only {len(ci)}")
    for f in ci:
        path = os.path.join(CHART, "ci", f)
        name = f[:-len(".yaml")]
        r = run([HELM, "lint", "--strict", CHART, "-f", path])
        if r.returncode != 0:
            fail(f"{name}: helm lint --strict", (r.stdout + r.stderr).strip().replace("\n", " | "))
        else:
            ok(f"{name}: helm lint --strict")
        objs, err = template(path)
        if objs is None:
            fail(f"{name}: helm template", err)
            continue
        ok(f"{name}: helm template ({len(objs)} objects)")
        v = merge(defaults, yaml.safe_load(open(path)))
        check_rendering(name, v, objs)
        notes = notes_of(path)
        c = Check(f"{name}: NOTES.txt names the phases and how to watch them")
        c.expect(notes is not None, "NOTES.txt does not render")
        if notes:
            for want in ["Init:1/2" if v["manifest"].get("operator") else "Init:0/1", "2-3", "Running  2/2", f"logs -f {RELEASE}-autonity-validator-0 -c ceremony",
                         f"organisation {v['org']}", f"network id {network_id_of(v)}"]:
                c.expect(want in notes, f"missing {want!r}")
        c.done()

    # Defaults alone cannot be installed: the schema names what is missing.
    r = run([HELM, "template", RELEASE, CHART])
    c = Check("default values alone are refused, naming the required values")
    c.expect(r.returncode != 0, "helm template succeeded with no org, IP, server, manifest or TSIG key")
    # Helm 3 names fields as dns.server, Helm 4 as /dns/server.
    for want in [r"\borg\b", r"publicIP", r"dns[./]server", r"manifest", r"dns[./]tsig"]:
        c.expect(re.search(want, r.stderr), f"message does not name {want}: {r.stderr.strip()[:300]}")
    c.done()

    bad = sorted(f for f in os.listdir(BAD_DIR) if f.endswith(".yaml"))
    base = os.path.join(CHART, "ci", "default-values.yaml")
    for f in bad:
        path = os.path.join(BAD_DIR, f)
        expects = [l.split(":", 1)[1].strip() for l in open(path) if l.startswith("# expect:")]
        r = run([HELM, "template", RELEASE, CHART, "-f", base, "-f", path])
        c = Check(f"bad values {f[:-5]} refused")
        c.expect(r.returncode != 0, "helm template succeeded")
        c.expect(bool(expects), "no '# expect:' line")
        for e in expects:
            c.expect(re.search(e, r.stderr), f"stderr does not match {e!r}: {r.stderr.strip()[:400]}")
        c.done()
        if r.returncode != 0:
            lines = [l for l in r.stderr.splitlines() if l.startswith(("Error", "- "))]
            print("     " + " | ".join(lines)[:300])

    print(f"{os.environ.get('CHART_TEST_LABEL', 'chart')}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
