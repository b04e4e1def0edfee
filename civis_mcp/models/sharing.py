"""Shares, ownership transfer, dependencies and projects of an import.

The arguments are named exactly like civis-python's ``client.imports.put_shares_users`` and its siblings. The share
operations answer with the full share list (``Share``, the spec's ShareIndex), whichever user or group changed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from civis_mcp.models.base import RequestModel, ResponseModel
from civis_mcp.models.common import Hidden, ImportId, PermissionLevel, ReportedPermissionLevel, User

# --- reusable argument fields -----------------------------------------------------------------------------------------

ShareLevelArg = Annotated[PermissionLevel, Field(description="Access level.")]
ShareEmailBody = Annotated[str | None, Field(default=None, description="Share e-mail text.")]
SendSharedEmail = Annotated[bool | None, Field(default=None, description="Send share e-mail.")]

# --- arguments --------------------------------------------------------------------------------------------------------


class ShareWithUsersParams(RequestModel):
    """Arguments of sharing an import with users (PUT /imports/{id}/shares/users)."""

    id: ImportId
    user_ids: list[int] = Field(min_length=1, description="User IDs.")
    permission_level: ShareLevelArg
    share_email_body: ShareEmailBody
    send_shared_email: SendSharedEmail


class RevokeUserShareParams(RequestModel):
    """Arguments of revoking one user's access to an import."""

    id: ImportId
    user_id: int = Field(description="User ID.")


class ShareWithGroupsParams(RequestModel):
    """Arguments of sharing an import with groups (PUT /imports/{id}/shares/groups)."""

    id: ImportId
    group_ids: list[int] = Field(min_length=1, description="Group IDs.")
    permission_level: ShareLevelArg
    share_email_body: ShareEmailBody
    send_shared_email: SendSharedEmail


class RevokeGroupShareParams(RequestModel):
    """Arguments of revoking one group's access to an import."""

    id: ImportId
    group_id: int = Field(description="Group ID.")


class ListDependenciesParams(RequestModel):
    """Arguments of listing the objects an import depends on."""

    id: ImportId
    user_id: int | None = Field(default=None, description="Report this user's access to each.")


class TransferParams(RequestModel):
    """Arguments of making another user the owner of an import."""

    id: ImportId
    user_id: int = Field(description="New owner's user ID.")
    include_dependencies: bool = Field(description="Also give them manage on dependencies.")
    email_body: str | None = Field(default=None, description="Transfer e-mail text.")
    send_email: bool | None = Field(default=None, description="E-mail the new owner.")


class ListProjectsParams(RequestModel):
    """Arguments of listing the projects an import belongs to."""

    id: ImportId
    hidden: Hidden


class ProjectLinkParams(RequestModel):
    """Arguments of adding an import to, or removing it from, a project."""

    id: ImportId
    project_id: int = Field(description="Project ID.")


# --- response objects -------------------------------------------------------------------------------------------------


class Grantee(ResponseModel):
    """A user or group named in a share (ShareUserSummary, ShareGroupSummary)."""

    id: int | None = None
    name: str | None = None


class ShareSet(ResponseModel):
    """The users and groups holding one access level (ShareUserSetSummary)."""

    users: list[Grantee] | None = None
    groups: list[Grantee] | None = None


class Share(ResponseModel):
    """Who can access an object, by access level (ShareIndex)."""

    readers: ShareSet | None = None
    writers: ShareSet | None = None
    owners: ShareSet | None = None
    total_user_shares: int | None = None
    total_group_shares: int | None = None


class DependencyBase(ResponseModel):
    """An object another object depends on, e.g. a credential; name is null when the caller cannot read it."""

    object_type: str | None = None
    fco_type: str | None = None
    id: int | None = None
    name: str | None = None
    permission_level: ReportedPermissionLevel | None = None
    description: str | None = None


class Dependency(DependencyBase):
    """A dependency and whether the caller may share it (ShareDependenciesSummary)."""

    shareable: bool | None = None


class TransferredDependency(DependencyBase):
    """A dependency after a transfer and whether it was shared with the new owner (ShareTransferDependencies)."""

    shared: bool | None = None


class Transfer(ResponseModel):
    """The outcome of an ownership transfer (ShareTransfer)."""

    dependencies: list[TransferredDependency] | None = None


class Project(ResponseModel):
    """A project an object belongs to (ProjectsProjectSummary)."""

    id: int | None = None
    author: User | None = None
    name: str | None = None
    description: str | None = None
    users: list[User] | None = None
    auto_share: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
    archived: bool | None = None
