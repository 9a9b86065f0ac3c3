"""wg-portal's provisioning models (REST v1): ProvisioningRequest in, UserInformation out."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.api import models_fields as f


class ProvisioningRequest(BaseModel):
    """A new peer on an interface for a user; keys are generated unless PublicKey is given."""

    model_config = f.STRICT

    InterfaceIdentifier: Annotated[f.Text, Field(min_length=1, max_length=64)]
    UserIdentifier: Annotated[f.Text, Field(max_length=64)] = ""
    PublicKey: f.OptionalKey = ""
    PresharedKey: f.OptionalKey = ""
    DisplayName: f.Name = ""


class UserInformationPeer(BaseModel):
    Identifier: str
    DisplayName: str
    IpAddresses: list[str]
    IsDisabled: bool = False
    InterfaceIdentifier: str


class UserInformation(BaseModel):
    UserIdentifier: str
    PeerCount: int
    Peers: list[UserInformationPeer]


def user_information_out(user: str, peers: list[dict[str, Any]]) -> dict[str, Any]:
    """`peers` are rows of the peers table; IsDisabled is omitempty in wg-portal's model."""
    out: list[dict[str, Any]] = []
    for peer in peers:
        item: dict[str, Any] = {
            "Identifier": peer["identifier"],
            "DisplayName": peer["display_name"],
            "IpAddresses": list(peer["addresses"]),
        }
        if peer["disabled"] is not None:
            item["IsDisabled"] = True
        item["InterfaceIdentifier"] = peer["interface_identifier"]
        out.append(item)
    return {"UserIdentifier": user, "PeerCount": len(out), "Peers": out}
