"""Hostile functions (python and node): each tries, from inside its worker, to reach what a
function must not (paths and addresses come in its HOSTILE_* environment), and reports one line
per attempt: `denied: …` when the attempt failed, `ALLOWED: …` when it got something.

The control plane's environment holds a canary; the function gets it reversed (its own
environment must not match). `?do=probe` runs the attempts, `?do=runtime` names the interpreter that runs it, `?do=daemon` leaves a `setsid`
grandchild behind, `?do=hog` allocates memory until it is stopped, `?do=bomb` forks until it
cannot (then kills its children).
"""

# ruff: noqa: E501 (the functions' own source code, in Python and JavaScript)

PYTHON = r"""
import ctypes, json, os, signal, socket, sys, time

E = os.environ


def attempt(results, name, action):
    try:
        got = action()
        results[name] = "ALLOWED: " + str(got)[:200]
    except BaseException as exc:  # the point is to try everything
        results[name] = f"denied: {type(exc).__name__}: {exc}"[:200]


def tcp(port):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=2) as sock:
        return f"connected to 127.0.0.1:{port}"


def unix(path):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        sock.connect(path)
        return f"connected to {path}"


def read(path):
    with open(path, "rb") as handle:
        return handle.read(100)


def canary_anywhere():
    seen = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    if E["HOSTILE_CANARY_REVERSED"][::-1].encode() in handle.read():
                        seen.append(pid)
            except OSError:
                pass
    if seen:
        return f"the control plane's environment, in /proc/{seen}"
    raise LookupError(f"no visible process has it (visible pids: {sorted(p for p in os.listdir('/proc') if p.isdigit())})")


def control_plane_process():
    cmdline = read(f"/proc/{E['HOSTILE_CP_PID']}/cmdline")
    if b"api.cli" in cmdline:
        return cmdline
    raise LookupError(f"pid {E['HOSTILE_CP_PID']} here is {cmdline!r}")


def import_from(path, module):
    sys.path.append(path)
    try:
        __import__(module)
        return f"imported {module}"
    finally:
        sys.path.remove(path)


def root():
    if os.getuid() == 0 or os.geteuid() == 0:
        return "running as root"
    raise PermissionError(f"uid {os.getuid()}, groups {os.getgroups()}")


def new_user_namespace():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "created a user namespace"


def probe():
    r = {}
    attempt(r, "root", root)
    attempt(r, "data dir", lambda: os.listdir(E["HOSTILE_DATA_DIR"]))
    attempt(r, "store files", lambda: read(E["HOSTILE_STORE_FILE"]))
    attempt(r, "store socket", lambda: unix(E["HOSTILE_STORE_SOCKET"]))
    attempt(r, "control plane port", lambda: tcp(E["HOSTILE_API_PORT"]))
    attempt(r, "other function's code", lambda: read(E["HOSTILE_OTHER_CODE"]))
    attempt(r, "other function's active.json", lambda: read(E["HOSTILE_OTHER_ACTIVE"]))
    attempt(r, "other function's worker", lambda: unix(E["HOSTILE_OTHER_SOCKET"]))
    attempt(r, "worker sockets dir", lambda: os.listdir(os.path.dirname(os.path.dirname(E["HOSTILE_OTHER_SOCKET"]))))
    attempt(r, "control plane environ", canary_anywhere)
    attempt(r, "control plane process", control_plane_process)
    attempt(r, "control plane code", lambda: read(E["HOSTILE_REPO"] + "/engine/settings.py"))
    attempt(r, "control plane site-packages", lambda: os.listdir(E["HOSTILE_SITE_PACKAGES"]))
    attempt(r, "import pymongo", lambda: import_from(E["HOSTILE_SITE_PACKAGES"], "pymongo"))
    attempt(r, "import fastapi", lambda: __import__("fastapi"))
    attempt(r, "write own code", lambda: open("/var/task/planted.py", "w").write("x"))
    attempt(r, "new user namespace", new_user_namespace)
    attempt(r, "setuid 0", lambda: os.setuid(0))
    return r


def daemon():
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    os.waitpid(child, 0)
    return {"uid": os.getuid()}


def hog():
    hold = []
    while True:
        hold.append(bytearray(b"x" * (1 << 20)))


def bomb():
    children = []
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return {"forked": len(children), "error": error}


def runtime():
    import platform
    return {"version": platform.python_version(), "executable": sys.executable, "path": sys.path}


def handler(event, context):
    do = (event.get("queryStringParameters") or {}).get("do", "probe")
    return {"probe": probe, "daemon": daemon, "hog": hog, "bomb": bomb, "runtime": runtime}[do]()
"""

NODE = r"""
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const E = process.env;

async function attempt(results, name, action) {
  try {
    results[name] = `ALLOWED: ${String(await action()).slice(0, 200)}`;
  } catch (err) {
    results[name] = `denied: ${String(err?.message ?? err)}`.slice(0, 200);
  }
}

function connect(options) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(options);
    sock.setTimeout(2000, () => { sock.destroy(); reject(new Error('timeout')); });
    sock.on('connect', () => { sock.destroy(); resolve(`connected to ${JSON.stringify(options)}`); });
    sock.on('error', reject);
  });
}

function canaryAnywhere() {
  const canary = [...E.HOSTILE_CANARY_REVERSED].reverse().join('');
  const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const seen = pids.filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/environ`).includes(canary); } catch { return false; }
  });
  if (seen.length) return `the control plane's environment, in /proc/${seen}`;
  throw new Error(`no visible process has it (visible pids: ${pids})`);
}

function controlPlaneProcess() {
  const cmdline = fs.readFileSync(`/proc/${E.HOSTILE_CP_PID}/cmdline`, 'latin1');
  if (cmdline.includes('api.cli')) return cmdline;
  throw new Error(`pid ${E.HOSTILE_CP_PID} here is ${cmdline}`);
}

function root() {
  if (process.getuid() === 0 || process.geteuid() === 0) return 'running as root';
  throw new Error(`uid ${process.getuid()}, groups ${process.getgroups()}`);
}

function newUserNamespace() {
  const done = spawnSync('unshare', ['--user', 'true'], { encoding: 'utf8' });
  if (done.status === 0) return 'created a user namespace';
  throw new Error(`unshare: ${done.status} ${done.stderr ?? done.error}`);
}

async function probe() {
  const r = {};
  await attempt(r, 'root', root);
  await attempt(r, 'data dir', () => fs.readdirSync(E.HOSTILE_DATA_DIR));
  await attempt(r, 'store files', () => fs.readFileSync(E.HOSTILE_STORE_FILE).subarray(0, 100));
  await attempt(r, 'store socket', () => connect({ path: E.HOSTILE_STORE_SOCKET }));
  await attempt(r, 'control plane port', () => connect({ host: '127.0.0.1', port: Number(E.HOSTILE_API_PORT) }));
  await attempt(r, "other function's code", () => fs.readFileSync(E.HOSTILE_OTHER_CODE, 'utf8'));
  await attempt(r, "other function's active.json", () => fs.readFileSync(E.HOSTILE_OTHER_ACTIVE, 'utf8'));
  await attempt(r, "other function's worker", () => connect({ path: E.HOSTILE_OTHER_SOCKET }));
  await attempt(r, 'worker sockets dir', () => fs.readdirSync(path.dirname(path.dirname(E.HOSTILE_OTHER_SOCKET))));
  await attempt(r, 'control plane environ', canaryAnywhere);
  await attempt(r, 'control plane process', controlPlaneProcess);
  await attempt(r, 'control plane code', () => fs.readFileSync(`${E.HOSTILE_REPO}/engine/settings.py`, 'utf8'));
  await attempt(r, 'control plane site-packages', () => fs.readdirSync(E.HOSTILE_SITE_PACKAGES));
  await attempt(r, 'write own code', () => fs.writeFileSync('/var/task/planted.mjs', 'x'));
  await attempt(r, 'new user namespace', newUserNamespace);
  return r;
}

function daemon() {
  spawn('sleep', ['600'], { detached: true, stdio: 'ignore' }).unref();
  return { uid: process.getuid() };
}

function hog() {
  const hold = [];
  for (;;) hold.push(Buffer.alloc(1 << 20, 1));
}

function bomb() {
  const children = [];
  let error = '';
  for (;;) {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    child.on('error', (err) => { error = String(err.message); });
    if (child.pid === undefined) break;
    children.push(child);
  }
  for (const child of children) child.kill('SIGKILL');
  return new Promise((resolve) => setTimeout(() => resolve({ forked: children.length, error }), 50));
}

function runtime() {
  return { version: process.versions.node, executable: process.execPath, path: [] };
}

export const handler = async (event) => {
  const todo = { probe, daemon, hog, bomb, runtime }[event.queryStringParameters?.do ?? 'probe'];
  return todo();
};
"""
