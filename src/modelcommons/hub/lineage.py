"""The lineage graph: which models were built on which, and from which data.

Edges come from card metadata (base_model, base_model_relation, datasets) and are rewritten
whenever a commit to main changes the card. They point at repo ids, so renames keep the graph;
a base that is not on this hub is kept by name and linked when a repo of that name appears.
Every commit that touches lineage also re-checks licenses along the ancestry (check_licenses).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.models import LineageEdge, Repo
from modelcommons.errors import InvalidInputError, LicenseConflictError
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import RepoType
from modelcommons.hub.repos import can_see, find_repo
from modelcommons.licensing import compatibility

RELATIONS = ("finetune", "adapter", "quantized", "merge")
MAX_DEPTH = 20


def _relation(repo: Repo) -> str:
    if repo.base_model_relation in RELATIONS:
        return repo.base_model_relation
    # The Hub's convention: several bases without a stated relation is a merge.
    return "merge" if len(repo.base_models or []) > 1 else "base"


def _model_parents(session: Session, repo_id: int) -> list[int]:
    stmt = select(LineageEdge.parent_id).where(
        LineageEdge.child_id == repo_id,
        LineageEdge.parent_type == "model",
        LineageEdge.parent_id.is_not(None),
    )
    return [p for p in session.scalars(stmt) if p is not None]


def _path_to(session: Session, start: int, goal: int) -> list[int] | None:
    """A chain of base models from `start` up to `goal`, if there is one."""
    previous: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == goal:
            chain = [current]
            while (step := previous[chain[-1]]) is not None:
                chain.append(step)
            return chain[::-1]
        for parent in _model_parents(session, current):
            if parent not in previous:
                previous[parent] = current
                queue.append(parent)
    return None


def index_lineage(session: Session, repo: Repo) -> None:
    """Rewrite the repo's edges from its indexed card; refuse a base that closes a cycle."""
    edges = []
    for name in (repo.base_models or []) if repo.type == "model" else []:
        parent = _linkable(repo, find_repo(session, "model", name))
        if parent is not None:
            _refuse_cycle(session, repo, parent)
        edges.append(_edge(repo, "model", name, parent, _relation(repo)))
    for name in repo.datasets or []:
        parent = _linkable(repo, find_repo(session, "dataset", name))
        edges.append(_edge(repo, "dataset", name, parent, "dataset"))
    session.execute(delete(LineageEdge).where(LineageEdge.child_id == repo.id))
    session.add_all(edges)
    session.flush()


def _linkable(child: Repo, parent: Repo | None) -> Repo | None:
    """A private parent is linked only from its own namespace: otherwise a card could probe
    for private repos (and their licenses) by naming them. It stays a named reference."""
    if parent is None or (parent.private and parent.namespace != child.namespace):
        return None
    return parent


def _edge(
    child: Repo, parent_type: RepoType, name: str, parent: Repo | None, kind: str
) -> LineageEdge:
    return LineageEdge(
        child_id=child.id,
        kind=kind,
        parent_type=parent_type,
        parent_name=name,
        parent_id=parent.id if parent else None,
    )


def _refuse_cycle(session: Session, repo: Repo, parent: Repo) -> None:
    chain = [parent.id] if parent.id == repo.id else _path_to(session, parent.id, repo.id)
    if chain is None:
        return
    names = {r.id: r.repo_id for r in session.scalars(select(Repo).where(Repo.id.in_(chain)))}
    loop = " -> ".join([repo.repo_id, *(names[i] for i in chain)])
    raise InvalidInputError(
        f"base_model {parent.repo_id!r} would make a lineage cycle ({loop}); "
        "a model cannot descend from itself."
    )


def link_new_name(session: Session, repo: Repo) -> None:
    """Edges that named this repo before it existed here (or by its new name, or while it
    was private) now reach it."""
    conditions = [
        LineageEdge.parent_id.is_(None),
        LineageEdge.parent_type == repo.type,
        func.lower(LineageEdge.parent_name) == repo.repo_id.lower(),
    ]
    if repo.private:  # as in _linkable: only its own namespace may link to it
        conditions.append(
            LineageEdge.child_id.in_(select(Repo.id).where(Repo.namespace == repo.namespace))
        )
    children = set(session.scalars(select(LineageEdge.child_id).where(*conditions)))
    session.execute(update(LineageEdge).where(*conditions).values(parent_id=repo.id))
    for child_id in children:  # their ancestry now reaches further: check it again
        child = session.get(Repo, child_id)
        if child is not None:
            check_licenses(session, child, enforce=False)


@dataclass
class Node:
    """A repo in a lineage answer; `repo` is None for a parent that is not on this hub."""

    name: str
    type: RepoType
    relation: str  # how it relates to the node it was reached from
    depth: int
    repo: Repo | None = None
    children: list[Node] = field(default_factory=list)

    @property
    def external(self) -> bool:
        return self.repo is None

    def as_json(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": self.repo.repo_id if self.repo else self.name,
            "type": self.type,
            "relation": self.relation,
            "depth": self.depth,
            "external": self.external,
        }
        if self.repo is not None:
            info.update(
                license=self.repo.license,
                datasets=self.repo.datasets or [],
                licenseCheck=(self.repo.license_check or {}).get("status"),
            )
        return info


def _edges_up(session: Session, repo_id: int) -> list[LineageEdge]:
    stmt = select(LineageEdge).where(LineageEdge.child_id == repo_id).order_by(LineageEdge.id)
    return list(session.scalars(stmt))


def _edges_down(session: Session, repo_id: int) -> list[LineageEdge]:
    stmt = select(LineageEdge).where(LineageEdge.parent_id == repo_id).order_by(LineageEdge.id)
    return list(session.scalars(stmt))


def ancestors(session: Session, principal: Principal, repo: Repo, *, depth: int) -> list[Node]:
    """Everything the repo was built from that the principal may see, nearest first."""
    return _walk_up(session, repo, depth, lambda parent: can_see(principal, parent))


def _walk_up(
    session: Session, repo: Repo, depth: int, visible: Callable[[Repo], bool]
) -> list[Node]:
    """Breadth-first up the edges, each repo once; bases not on this hub end a branch."""
    found: list[Node] = []
    seen = {repo.id}
    queue = deque([(repo.id, 1)])
    while queue:
        current, level = queue.popleft()
        if level > depth:
            continue
        for edge in _edges_up(session, current):
            parent = session.get(Repo, edge.parent_id) if edge.parent_id else None
            if parent is not None and (parent.id in seen or not visible(parent)):
                continue
            found.append(Node(edge.parent_name, edge.parent_type, edge.kind, level, parent))
            if parent is not None:
                seen.add(parent.id)
                queue.append((parent.id, level + 1))
    return found


def descendants(session: Session, principal: Principal, repo: Repo, *, depth: int) -> list[Node]:
    """What was built on the repo, as a tree; private descendants one cannot see are left out."""
    return _walk_down(session, repo, depth, lambda child: can_see(principal, child))


def _walk_down(
    session: Session, repo: Repo, depth: int, visible: Callable[[Repo], bool]
) -> list[Node]:
    seen = {repo.id}

    def grow(repo_id: int, level: int) -> list[Node]:
        if level > depth:
            return []
        nodes = []
        for edge in _edges_down(session, repo_id):
            child = session.get(Repo, edge.child_id)
            if child is None or child.id in seen or not visible(child):
                continue
            seen.add(child.id)
            node = Node(child.repo_id, child.type, edge.kind, level, child)
            node.children = grow(child.id, level + 1)
            nodes.append(node)
        return nodes

    return grow(repo.id, 1)


def flatten(nodes: list[Node]) -> list[Node]:
    return [n for node in nodes for n in (node, *flatten(node.children))]


def relation_counts(nodes: list[Node]) -> dict[str, int]:
    """How many direct descendants of each kind (finetunes, adapters, ...)."""
    counts = dict.fromkeys((*RELATIONS, "base", "dataset"), 0)
    for node in nodes:
        counts[node.relation] += 1
    return {kind: count for kind, count in counts.items() if count}


def _license_ancestry(
    session: Session, repo: Repo, viewer: Principal | None = None
) -> list[compatibility.Ancestor]:
    """Every model and dataset the repo was built from, private ones included: a license
    binds a derivative whether or not its viewer can see the base. Those the viewer (if
    given) cannot see are marked hidden, unnamed."""
    result = []
    for node in _walk_up(session, repo, MAX_DEPTH, lambda _parent: True):
        path = "training data" if node.type == "dataset" else f"{node.relation} base"
        if node.depth > 1:
            path += f", {node.depth} levels up"
        license_id = node.repo.license if node.repo else None
        hidden = viewer is not None and node.repo is not None and not can_see(viewer, node.repo)
        kind = "dataset" if node.type == "dataset" else "base"
        name = f"a {kind} you cannot see" if hidden else node.name
        result.append(compatibility.Ancestor(name, license_id, path, hidden=hidden))
    return result


def license_check_for(session: Session, principal: Principal, repo: Repo) -> dict[str, Any] | None:
    """The repo's license verdict as the principal may read it: the stored one, unless its
    ancestry holds repos they cannot see; then the same verdict, naming none of them."""
    ancestry = _license_ancestry(session, repo, principal)
    if not any(ancestor.hidden for ancestor in ancestry):
        return repo.license_check
    return compatibility.check(repo.license, ancestry).as_json()


def check_licenses(session: Session, repo: Repo, *, enforce: bool) -> compatibility.Verdict:
    """Check the repo against its whole ancestry and store the verdict; then re-check what
    was built on it, since its license reaches them too. With `enforce` and the hub's
    policy "reject", an incompatible license refuses the commit."""
    verdict = compatibility.check(repo.license, _license_ancestry(session, repo))
    if enforce and verdict.status == compatibility.FLAGGED:
        if get_settings().license_policy == "reject":
            raise LicenseConflictError(
                "This hub refuses incompatible licenses: " + " ".join(verdict.reasons)
            )
    repo.license_check = verdict.as_json()
    for node in flatten(_walk_down(session, repo, MAX_DEPTH, lambda _child: True)):
        assert node.repo is not None
        node.repo.license_check = compatibility.check(
            node.repo.license, _license_ancestry(session, node.repo)
        ).as_json()
    return verdict
