"""whoami-v2: who the token belongs to, with its orgs and role."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelcommons.errors import UnauthorizedError
from modelcommons.server.deps import CurrentPrincipal

router = APIRouter()


@router.get("/api/whoami-v2")
def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
    user = principal.user
    if user is None:
        raise UnauthorizedError("You must be authenticated: pass a token (HF_TOKEN).")
    return {
        "type": "user",
        "id": str(user.id),
        "name": user.name,
        "fullname": user.fullname,
        "email": user.email,
        "isPro": False,
        "canPay": False,
        "orgs": [
            {"type": "org", "name": name, "roleInOrg": role}
            for name, role in sorted(principal.org_roles.items())
        ],
        "auth": {
            "type": "access_token",
            "accessToken": {"displayName": principal.token_name, "role": principal.token_role},
        },
    }
