#!/usr/bin/env python3
"""Run the chart's rendered pod with Docker, as the kubelet would, minus Kubernetes.

Usage: pod_smoke.py HELM IMAGE REPO_DIR

Renders charts/autonity-validator (ci/standin-values.yaml, images set to IMAGE) with real
`helm template`, then runs the StatefulSet's containers with exactly the rendered command
lines and the rendered security context (uid, read-only root filesystem, no capabilities,
no privilege escalation, /tmp and /data volumes), the sidecar sharing the client's network
namespace like containers of one pod:
  1. the keys the init container would make (`dnsceremony keygen` into /data/keys), a
     one-validator genesis.json and the client's config.toml (no peers) at the paths the init
     container leaves them (the chart's init
     command `dnsceremony run ... --until genesis` needs DNS; it is checked by check_chart.py);
  2. the `autonity` container: the stand-in with the rendered client arguments;
  3. the `check` container: `dnsceremony check --watch ...` as rendered;
  4. the readiness probe: the rendered exec command inside the check container -> exit 0;
  5. the alarm: the client restarted with autonity.extraArgs leaving this validator out of
     the committee -> the probe exits 10 (ALARM) with the one-line error the kubelet would
     put in the Unhealthy event, and the sidecar runs the rendered alarm command;
  6. keys.existingSecret: the keys laid out as a kubelet Secret volume (symlinks into ..data,
     root-owned, mode 0440 with fsGroup), mounted read-only: the probe is green again;
  7. manifest.operator: the rendered `manifest` init container accepts the manifest signed by
     the operator (`dnsceremony manifest sign`) and refuses it unsigned.
The containers use --network none: nothing leaves the pod's loopback. Everything started is
removed at the end. Ends with 'N passed, N failed'.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import yaml

HELM, IMAGE, REPO = sys.argv[1], sys.argv[2], sys.argv[3]
CHART = os.path.join(REPO, "charts", "autonity-validator")
GOLDEN = os.path.join(REPO, "tests", "golden", "v1.json")
tag = "smoke-" + uuid.uuid4().hex[:8]
started = []
MANIFEST_DIR = None
passed = failed = 0


def result(name, good, detail=""):
    global passed, failed
    if good:
        passed += 1
        print(f"ok   pod: {name}" + (f" ({detail})" if detail else ""))
    else:
        failed += 1
        print(f"FAIL pod: {name}: {detail}")


def docker(*args, check=True, timeout=120):
    r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}: {r.stderr.strip()}")
    return r


def render(extra, more=None):
    repo, _, t = IMAGE.rpartition(":")
    values = more or {}
    values |= {
        "image": {"repository": repo, "tag": t, "pullPolicy": "Never"},
        "autonity": {"image": {"repository": repo, "tag": t, "pullPolicy": "Never"},
                     "command": ["/usr/bin/tini", "--", "autonity-standin"], "extraArgs": extra},
        "publicIP": "127.0.0.1",
        "check": {"interval": "2s", "window": "10s",
                  "alarm": {"command": 'printf "%s\\n" "$DNSCEREMONY_ALARM" >> /tmp/alarms.jsonl'},
                  "readinessProbe": {"window": "10s"}},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values, f)
        path = f.name
    try:
        out = subprocess.run([HELM, "template", "smoke", CHART, "-f", os.path.join(CHART, "ci", "standin-values.yaml"),
                              "-f", path, "--show-only", "templates/statefulset.yaml"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(path)
    return yaml.safe_load(out)["spec"]["template"]["spec"]


def run_flags(spec, ctr):
    """docker run flags equivalent to the pod's and the container's security context."""
    psc, sc = spec["securityContext"], ctr["securityContext"]
    f = ["--user", f"{psc['runAsUser']}:{psc['runAsGroup']}", "--group-add", str(psc["fsGroup"])]
    if sc.get("readOnlyRootFilesystem"):
        f.append("--read-only")
    if sc.get("allowPrivilegeEscalation") is False:
        f += ["--security-opt", "no-new-privileges"]
    for cap in sc.get("capabilities", {}).get("drop", []):
        f += ["--cap-drop", cap]
    for m in ctr.get("volumeMounts", []):
        if m["name"] in ("data", "keys"):
            f += ["-v", f"{tag}-{m['name']}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
        elif m["name"] == "manifest" and MANIFEST_DIR:
            f += ["-v", f"{MANIFEST_DIR}:{m['mountPath']}:ro"]
        elif m["name"] == "tmp":
            f += ["--tmpfs", f"{m['mountPath']}:rw,size=64m,uid={psc['runAsUser']},gid={psc['runAsGroup']}"]
    return f


def start(name, spec, ctr, network):
    entry = ctr.get("command")
    flags = run_flags(spec, ctr) + ["--network", network, "--name", f"{tag}-{name}", "-d"]
    if entry:
        flags += ["--entrypoint", entry[0]]
        argv = entry[1:] + ctr.get("args", [])
    else:
        argv = ctr.get("args", [])
    docker("run", *flags, ctr["image"], *argv)
    started.append(f"{tag}-{name}")


def stop(name):
    docker("rm", "-f", f"{tag}-{name}", check=False)
    if f"{tag}-{name}" in started:
        started.remove(f"{tag}-{name}")


def probe(spec):
    cmd = container(spec, "check")["readinessProbe"]["exec"]["command"]
    return docker("exec", f"{tag}-check", *cmd, check=False, timeout=60)


def container(spec, name):
    return next(c for c in spec["containers"] if c["name"] == name)


def main():
    spec = render([])
    psc = spec["securityContext"]
    docker("volume", "create", f"{tag}-data")
    # The data volume as the kubelet gives it: writable by fsGroup.
    docker("run", "--rm", "-v", f"{tag}-data:/data", "--user", "0:0", "--entrypoint", "/bin/chown", IMAGE,
           f"{psc['runAsUser']}:{psc['fsGroup']}", "/data")
    ceremony = next(c for c in spec["initContainers"] if c["name"] == "ceremony")
    keys_dir = ceremony["args"][ceremony["args"].index("--keys") + 1]
    datadir = ceremony["args"][ceremony["args"].index("--datadir") + 1]

    # 1. What Phases 2-3 leave on the volume: keys (made inside the pod) and genesis.json.
    kflags = run_flags(spec, ceremony) + ["--network", "none", "--rm"]
    r = docker("run", *kflags, IMAGE, "keygen", "--dir", keys_dir, "--json", check=False)
    result("keygen in the init container's sandbox (non-root, read-only root fs)", r.returncode == 0, r.stderr.strip())
    ident = json.loads(docker("run", *kflags, IMAGE, "keys", "show", "--dir", keys_dir, "--json").stdout)
    g = json.load(open(GOLDEN))
    v = g["config"]["autonity"]["validators"][0]
    v.update({"enode": f"enode://{ident['enode_key']}@127.0.0.1:30303", "consensusKey": ident["consensus_key"],
              "oracleAddress": ident["oracle_address"]})
    g["config"]["autonity"]["validators"] = [v]
    body = json.dumps(g, indent=2) + "\n"
    # With the client's configuration file the init container writes beside (no peers: one
    # validator), which the rendered client command line names with --config.
    peers = "[Node.ExecutionP2P]\nStaticNodes = []\n"
    docker("run", *kflags, "-e", f"GENESIS={body}", "-e", f"PEERS={peers}", "--entrypoint", "/bin/sh", IMAGE, "-c",
           f'printf "%s" "$GENESIS" > {datadir}/genesis.json && mkdir -p {datadir}/node && '
           f'printf "%s" "$PEERS" > {datadir}/node/config.toml')

    # 2-4. The client, the sidecar, the readiness probe.
    start("autonity", spec, container(spec, "autonity"), "none")
    start("check", spec, container(spec, "check"), f"container:{tag}-autonity")
    deadline = time.time() + 60
    r = probe(spec)
    while r.returncode != 0 and time.time() < deadline:
        time.sleep(2)
        r = probe(spec)
    result("readiness probe green on the rendered client command line", r.returncode == 0,
           (r.stdout.strip() or r.stderr.strip())[:200])
    state = docker("inspect", "-f", "{{.State.Running}}", f"{tag}-check").stdout.strip()
    result("check --watch sidecar keeps running", state == "true", docker("logs", f"{tag}-check", check=False).stderr.strip()[-300:])

    # 5. The alarm: the same pod with this validator left out of the committee.
    stop("check")
    stop("autonity")
    spec = render(["--standin.drop-validator", ident["enode_key"]])
    start("autonity", spec, container(spec, "autonity"), "none")
    start("check", spec, container(spec, "check"), f"container:{tag}-autonity")
    time.sleep(3)
    r = probe(spec)
    line = r.stderr.strip()
    result("readiness probe fails with exit 10 (ALARM) and one line naming what is missing",
           r.returncode == 10 and len(line.splitlines()) == 1 and line.startswith("dnsceremony: "),
           f"exit {r.returncode}: {line[:200]}")
    deadline = time.time() + 30
    alarms = ""
    while not alarms and time.time() < deadline:
        time.sleep(2)
        alarms = docker("exec", f"{tag}-check", "cat", "/tmp/alarms.jsonl", check=False).stdout.strip()
    ok = False
    try:
        ok = json.loads(alarms.splitlines()[0])["schema"] == "dnsceremony.alarm/v1"
    except (ValueError, IndexError, KeyError):
        pass
    result("sidecar ran the rendered alarm command with the alarm's JSON", ok, alarms[:200] or "no alarm written")

    # 6. Keys from an existing Secret: laid out as the kubelet writes a Secret volume (files in
    # a ..data directory behind symlinks, root-owned, mode 0400 plus group read for fsGroup),
    # mounted read-only at the rendered path; the client and the probe must read them there.
    stop("check")
    stop("autonity")
    spec = render([], {"keys": {"existingSecret": "org1-validator-keys"}})
    kv = next(vol for vol in spec["volumes"] if vol["name"] == "keys")["secret"]
    docker("volume", "create", f"{tag}-keys")
    items = " ".join(i["path"] for i in kv["items"])
    mode = oct(kv["defaultMode"] | 0o040)[2:]
    docker("run", "--rm", "--network", "none", "-v", f"{tag}-data:/data", "-v", f"{tag}-keys:/secret", "--user", "0:0",
           "--entrypoint", "/bin/sh", IMAGE, "-c",
           f"set -e; mkdir /secret/..2026_01_01; for f in {items}; do cp {keys_dir}/$f /secret/..2026_01_01/$f; "
           f"chown 0:{psc['fsGroup']} /secret/..2026_01_01/$f; chmod {mode} /secret/..2026_01_01/$f; "
           f"ln -s ..data/$f /secret/$f; done; ln -s ..2026_01_01 /secret/..data; rm -rf {keys_dir}")
    auto = container(spec, "autonity")
    secret_keys = auto["args"][auto["args"].index("--autonitykeys") + 1]
    start("autonity", spec, auto, "none")
    start("check", spec, container(spec, "check"), f"container:{tag}-autonity")
    deadline = time.time() + 60
    r = probe(spec)
    while r.returncode != 0 and time.time() < deadline:
        time.sleep(2)
        r = probe(spec)
    result(f"keys from a Secret volume ({secret_keys}, mode {mode}, read-only): probe green", r.returncode == 0,
           (r.stdout.strip() or r.stderr.strip())[:200])


def manifest_signature():
    """7. The operator-signature init container on a signed and an unsigned manifest."""
    global MANIFEST_DIR
    operator = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"  # address of private key 1
    spec = render([], {"manifest": {"operator": operator}})
    ctr = next(c for c in spec["initContainers"] if c["name"] == "manifest")
    src = yaml.safe_load(open(os.path.join(CHART, "ci", "standin-values.yaml")))["manifest"]["content"]
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        open(os.path.join(d, "manifest.toml"), "w").write(src)
        open(os.path.join(d, "operator.key"), "w").write("00" * 31 + "01\n")
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o666)
        MANIFEST_DIR = d
        flags = run_flags(spec, ctr) + ["--network", "none", "--rm"]
        unsigned = docker("run", *flags, ctr["image"], *ctr["args"], check=False)
        docker("run", "--rm", "--network", "none", "--user", "0:0", "-v", f"{d}:/m", IMAGE,
               "manifest", "sign", "--key", "/m/operator.key", "/m/manifest.toml")
        signed = docker("run", *flags, ctr["image"], *ctr["args"], check=False)
        MANIFEST_DIR = None
    result("manifest init container refuses the unsigned manifest", unsigned.returncode != 0,
           f"exit {unsigned.returncode}: {unsigned.stderr.strip()[:160]}")
    result("manifest init container accepts the operator-signed manifest", signed.returncode == 0,
           f"exit {signed.returncode}: {(signed.stderr or signed.stdout).strip()[:160]}")


if __name__ == "__main__":
    try:
        main()
        manifest_signature()
    except Exception as e:  # noqa: BLE001 - any failure of the harness is a failed check
        result("harness", False, str(e))
    finally:
        for name in list(started):
            docker("rm", "-f", name, check=False)
        docker("volume", "rm", "-f", f"{tag}-data", f"{tag}-keys", check=False)
    print(f"pod: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
