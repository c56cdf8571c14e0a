"""Driving scripts/lab.sh from tests: a lab of real Open vSwitch chassis in network
namespaces (see docs/lab.md), plus the probes the tests need: ping, packet capture with
tcpdump, raw frames sent with an AF_PACKET socket.

Everything a lab creates lives under its own directory and namespace prefix, and
``Lab.down`` removes it (daemons by pid, namespaces by name)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB_SH = ROOT / "scripts" / "lab.sh"
PYOVN = f"{sys.executable} -m pyovn.cli.main"
VSS = "/usr/share/openvswitch/vswitch.ovsschema"


class LabError(RuntimeError):
    pass


def ovs_unavailable() -> str | None:
    """Why an Open vSwitch lab cannot run here, or None when it can: root, the tools, and an
    ovs-vswitchd that starts and opens a userspace (netdev) bridge in a namespace."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veths, ovs-vswitchd)"
    for tool in ("ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ovs-ofctl", "ovn-nbctl", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if shutil.which("tcpdump") is None:
        return "tcpdump is not installed"
    d = Path(tempfile.mkdtemp(prefix="ovs-probe-"))
    ns = f"probe{os.getpid()}"
    env = {**os.environ, "OVS_RUNDIR": str(d), "OVS_LOGDIR": str(d), "OVS_DBDIR": str(d)}

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)

    try:
        if run("ip", "netns", "add", ns).returncode:
            return "cannot create a network namespace"
        run("ovsdb-tool", "create", f"{d}/conf.db", VSS)
        r = run(
            "ovsdb-server", "--detach", "--no-chdir", f"--pidfile={d}/db.pid",
            f"--remote=punix:{d}/db.sock", f"--unixctl={d}/db.ctl", f"--log-file={d}/db.log",
            f"{d}/conf.db",
        )  # fmt: skip
        if r.returncode:
            return f"ovsdb-server cannot start: {r.stderr.strip()}"
        run("ovs-vsctl", f"--db=unix:{d}/db.sock", "--no-wait", "init")
        r = run(
            "ip", "netns", "exec", ns, "ovs-vswitchd", f"unix:{d}/db.sock", "--detach",
            "--no-chdir", f"--pidfile={d}/vs.pid", f"--unixctl={d}/vs.ctl",
            f"--log-file={d}/vs.log",
        )  # fmt: skip
        if r.returncode:
            return f"ovs-vswitchd cannot start: {r.stderr.strip()[-300:]}"
        r = run(
            "ovs-vsctl", f"--db=unix:{d}/db.sock", "--timeout=20", "add-br", "probe",
            "--", "set", "Bridge", "probe", "datapath_type=netdev",
        )  # fmt: skip
        if r.returncode:
            return f"ovs-vswitchd cannot open a netdev bridge: {r.stderr.strip()}"
        if run("ovs-ofctl", "show", "probe").returncode:
            return "ovs-ofctl cannot reach the bridge"
        return None
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"probe failed: {exc}"
    finally:
        run("ovs-appctl", "-t", f"{d}/vs.ctl", "exit", "--cleanup")
        for pidfile in ("vs.pid", "db.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int((d / pidfile).read_text()), signal.SIGTERM)
        run("ip", "netns", "del", ns)
        shutil.rmtree(d, ignore_errors=True)


@dataclass
class Capture:
    """tcpdump in a namespace; ``lines`` (``tcpdump -e -nn`` text) once stopped."""

    proc: subprocess.Popen[str]
    path: Path
    verbose: bool = False
    lines: list[str] = field(default_factory=list)

    def stop(self) -> list[str]:
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        out = subprocess.run(
            [
                "tcpdump",
                "-r",
                str(self.path),
                "-e",
                "-nn",
                "-tt",
                *(["-v"] if self.verbose else []),
            ],
            capture_output=True,
            text=True,
        )
        self.lines = out.stdout.splitlines()
        return self.lines


class Lab:
    """One lab: ``up()`` starts it (no topology), tests add switches, VMs, containers."""

    def __init__(
        self,
        prefix: str,
        net: str,
        chassis: int = 1,
        impl: str = "pyovn",
        root: Path | None = None,
    ) -> None:
        self.dir = Path(root or tempfile.mkdtemp(prefix=f"lab-{prefix}-"))
        self.prefix = prefix
        self.net = net
        self.chassis = chassis
        self.impl = impl
        self.env = {
            **os.environ,
            "LAB_DIR": str(self.dir / "lab"),
            "LAB_PREFIX": prefix,
            "LAB_NET": net,
            "LAB_CHASSIS": str(chassis),
            "LAB_IMPL": impl,
            "LAB_TOPO": "none",
            "PYOVN": PYOVN,
        }
        self.central = self.dir / "lab" / "central"

    # ---------------------------------------------------------------- the script
    def lab(self, *args: str, check: bool = True, timeout: float = 180) -> str:
        r = subprocess.run(
            [str(LAB_SH), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and r.returncode != 0:
            raise LabError(f"lab.sh {' '.join(args)}: exit {r.returncode}\n{r.stderr[-3000:]}")
        return r.stdout

    def up(self) -> None:
        self.lab("up")

    def down(self) -> None:
        self.lab("down", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def nbctl(self, *args: str) -> str:
        return self.lab("nbctl", *args)

    def pyovn_nbctl(self, *args: str) -> str:
        cmd = [*PYOVN.split(), "nbctl", f"--db=unix:{self.central}/nb.sock", *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def sbctl(self, *args: str) -> str:
        return self.lab("sbctl", *args)

    def ofctl(self, hv: str, *args: str) -> str:
        return self.lab("ofctl", hv, *args)

    def vm(self, name: str, hv: str, mac: str, ip: str, iface_id: str | None = None) -> None:
        self.lab("vm-add", name, hv, mac, ip, *([iface_id] if iface_id else []))

    def container(self, vm: str, name: str, tag: int, mac: str, ip: str) -> None:
        self.lab("container-add", vm, name, str(tag), mac, ip)

    def lsp(
        self, switch: str, name: str, mac: str, ip: str, parent: str = "", tag: int = 0
    ) -> None:
        """A logical port with addresses and port security (and a parent and tag for a
        container)."""
        add = ["lsp-add", switch, name] + ([parent, str(tag)] if parent else [])
        addr = f"{mac} {ip}"
        self.nbctl(
            *add, "--", "lsp-set-addresses", name, addr, "--", "lsp-set-port-security", name, addr
        )

    def wait_up(self, *ports: str, timeout: float = 30) -> None:
        for port in ports:
            self.nbctl(f"--timeout={int(timeout)}", "wait-until", "Logical_Switch_Port", port,
                       "up=true")  # fmt: skip

    # ---------------------------------------------------------------- namespaces
    def run_in(
        self, name: str, *cmd: str, timeout: float = 60, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns(name), *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def ping(self, vm: str, dst: str, count: int = 3, iface: str | None = None) -> bool:
        args = ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1"]
        if iface:
            args += ["-I", iface]
        out = self.run_in(vm, *args, dst).stdout
        return f" {count} received" in out

    def wait_ping(self, vm: str, dst: str, iface: str | None = None, timeout: float = 10) -> float:
        """Seconds until a single ping succeeds (a tunnel's first packet waits for ARP of
        the remote endpoint); raises when it never does."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.ping(vm, dst, count=1, iface=iface):
                return time.monotonic() - start
        raise AssertionError(f"{vm} cannot ping {dst} within {timeout} s")

    @contextlib.contextmanager
    def capture(
        self, name: str, iface: str, expr: str = "", verbose: bool = False
    ) -> Iterator[Capture]:
        path = self.dir / f"cap-{name}-{iface}-{time.monotonic_ns()}.pcap"
        cmd = ["ip", "netns", "exec", self.ns(name), "tcpdump", "-i", iface, "--immediate-mode",
               "-U", "-nn", "-w", str(path), *expr.split()]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "listening on IFACE ..." once the socket is open
        if "listening" not in line:
            proc.kill()
            raise LabError(f"tcpdump in {name} on {iface}: {line}")
        cap = Capture(proc, path, verbose)
        try:
            yield cap
        finally:
            cap.stop()

    def send_frames(self, vm: str, iface: str, frame: bytes, count: int = 3) -> None:
        """Send a raw Ethernet frame (tag and all) out of ``iface`` with an AF_PACKET
        socket, ``count`` times."""
        code = (
            "import socket,sys,time\n"
            "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
            "s.bind((sys.argv[1],0))\n"
            "for _ in range(int(sys.argv[3])):\n"
            "    s.send(bytes.fromhex(sys.argv[2])); time.sleep(0.1)\n"
        )
        self.run_in(vm, sys.executable, "-c", code, iface, frame.hex(), str(count), check=True)

    # ---------------------------------------------------------------- daemons
    def controller_pid(self, hv: str) -> int:
        return int((self.dir / "lab" / hv / "controller.pid").read_text())

    def flows(self, hv: str) -> dict[str, float]:
        """br-int's flows: text without counters -> duration in seconds."""
        out = {}
        for line in self.ofctl(hv, "dump-flows", "br-int").splitlines():
            if "actions=" not in line:
                continue
            m = re.search(r"duration=([0-9.]+)s", line)
            key = re.sub(r"\b(duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*, ?", "", line)
            out[key.strip()] = float(m.group(1)) if m else 0.0
        return out


# ------------------------------------------------------------------------ frames
def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(ip: str) -> bytes:
    return bytes(int(x) for x in ip.split("."))


def udp_frame(
    src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, vlan: int | None = None, port: int = 9
) -> bytes:
    """Ethernet (optionally 802.1Q-tagged) + IPv4 + UDP to ``port``, payload "pyovn-e2e"."""
    payload = b"pyovn-e2e"
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip_bytes(src_ip), ip_bytes(dst_ip)
    )
    total = sum(struct.unpack("!10H", hdr))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    hdr = hdr[:10] + struct.pack("!H", ~total & 0xFFFF) + hdr[12:]
    eth = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        eth += struct.pack("!HH", 0x8100, vlan)
    return eth + struct.pack("!H", 0x0800) + hdr + udp
