"""Shares, ownership transfer, dependencies and projects of an import."""

from __future__ import annotations

from civis_mcp.models.base import RequestModel, ResponseModel

# PLACEHOLDER: replaced by the real models.

class ShareWithUsersParams(RequestModel):
    pass


class RevokeUserShareParams(RequestModel):
    pass


class ShareWithGroupsParams(RequestModel):
    pass


class RevokeGroupShareParams(RequestModel):
    pass


class ListDependenciesParams(RequestModel):
    pass


class TransferParams(RequestModel):
    pass


class ListProjectsParams(RequestModel):
    pass


class ProjectLinkParams(RequestModel):
    pass


class Share(ResponseModel):
    pass


class Dependency(ResponseModel):
    pass


class Transfer(ResponseModel):
    pass


class Project(ResponseModel):
    pass
