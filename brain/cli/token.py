"""`brain token issue`: mint an API token (JWT) from the configured key."""

from __future__ import annotations

import re

import click

from brain.config import get_settings
from brain.security import ROLES, issue_token

_TTL = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(value: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `7d` → seconds."""
    match = _TTL.match(value.strip())
    if not match or int(match.group(1)) <= 0:
        raise click.BadParameter("use a positive number with an optional unit s, m, h or d (e.g. 1h)")
    return int(match.group(1)) * _UNITS[match.group(2)]


@click.group()
def token() -> None:
    """API tokens."""


@token.command("issue")
@click.option("--sub", required=True, help="Subject: the user or service the token names.")
@click.option("--tenant", default="default", show_default=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(sorted(ROLES)), help="Repeat for several roles.")
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 90s, 15m, 1h, 7d.")
@click.option(
    "--algorithm",
    default="HS256",
    show_default=True,
    help="HS256 uses BRAIN_JWT_SECRET; RS256/ES256 need --private-key.",
)
@click.option("--private-key", type=click.File("r"), default=None, help="PEM private key for RS*/ES*.")
@click.option("--kid", default=None, help="Key id header (to pick the key from a JWKS).")
def issue(
    sub: str, tenant: str, roles: tuple[str, ...], ttl: str, algorithm: str, private_key, kid: str | None
) -> None:
    """Print a signed token for `Authorization: Bearer <token>`."""
    seconds = parse_ttl(ttl)
    key = private_key.read() if private_key else None
    click.echo(
        issue_token(
            get_settings(),
            sub,
            tenant=tenant,
            roles=roles,
            ttl_s=seconds,
            algorithm=algorithm,
            private_key=key,
            kid=kid,
        )
    )
