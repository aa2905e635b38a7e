"""The step graph: extract steps, transforms in FK order, post-transforms, then `dbt build`.

Step ids are `<kind>_<name>` (`extract_chat`, `transform_messages`, `post_agents`, `dbt_build`); the
two-digit number `NN` orders them and names their notebooks and archive files.

Dependencies are derived, not kept by hand: a transform waits for the transform before it (the data
model's FK order) and for the extractors that write what it reads (`extract_writes`: each extractor's
entity specs; `transform_reads`: each transform's declared raw tables, narrowed to the endpoints its SQL
filters on). Post-transforms read public.* as a whole (every extract and transform); `dbt build` waits
for everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lib.names import RUN_MODES

KINDS = ("extract", "transform", "post", "dbt", "report")
MODES = RUN_MODES
_ENDPOINT_FILTER = re.compile(r"endpoint\s*=\s*'([^']+)'")


class GraphError(ValueError):
    """A step reads data that no step writes."""


@dataclass(frozen=True)
class Reads:
    """A raw table a transform reads; `endpoints`: the endpoints its SQL filters on (empty: every one)."""

    table: str
    endpoints: frozenset[str] = frozenset()


def extract_writes() -> dict[str, frozenset[tuple[str, str]]]:
    """extractor name -> the (raw table, endpoint) pairs its entity specs write (lib.extract)."""
    from lib.extract.options import ExtractOptions
    from lib.extract.registry import EXTRACTOR_CLASSES

    options = ExtractOptions()
    return {
        n: frozenset((s.raw_table, s.endpoint) for s in cls().specs(options))
        for n, cls in EXTRACTOR_CLASSES.items()
    }


def transform_reads() -> dict[str, tuple[Reads, ...]]:
    """transform name -> what it reads: its declared raw tables (`Transform.sources`), narrowed to the
    endpoints its SQL names (`endpoint = '…'`)."""
    from lib.transform import REGISTRY

    out: dict[str, tuple[Reads, ...]] = {}
    for name, tf in REGISTRY.items():
        endpoints = frozenset(_ENDPOINT_FILTER.findall(tf.sql()))
        out[name] = tuple(Reads(table, endpoints) for table in tf.sources)
    return out


def feeds(
    reads: Mapping[str, Sequence[Reads]], writes: Mapping[str, Iterable[tuple[str, str]]]
) -> dict[str, tuple[str, ...]]:
    """transform name -> the extractors (in `writes` order) that write what it reads.

    A raw table no extractor writes, or a transform that reads tables but is fed by none of them, is a
    GraphError (a step would wait for nothing and read nothing)."""
    written = {e: set(w) for e, w in writes.items()}
    out: dict[str, tuple[str, ...]] = {}
    for name, tables in reads.items():
        found: set[str] = set()
        for r in tables:
            writers = [e for e, w in written.items() if any(t == r.table for t, _ in w)]
            if not writers:
                raise GraphError(f"transform {name!r} reads raw.{r.table}, which no extractor writes")
            found |= {e for e in writers if any(t == r.table and (not r.endpoints or ep in r.endpoints)
                                                  for t, ep in written[e])}  # fmt: skip
        if tables and not found:
            raise GraphError(f"transform {name!r}: no extractor writes the endpoints it reads ({tables})")
        out[name] = tuple(e for e in written if e in found)
    return out


@lru_cache(maxsize=1)
def transform_sources() -> dict[str, tuple[str, ...]]:
    """transform name -> the extractors it waits for, derived from lib's declared reads and writes."""
    return feeds(transform_reads(), extract_writes())


@dataclass(frozen=True)
class Step:
    """One node of the graph."""

    seq: int
    kind: str  # extract | transform | post | dbt
    name: str  # the name the lib entry point takes
    deps: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """`<kind>_<name>`, unique in a run (the ledger's `step`)."""
        return f"{self.kind}_{self.name}"

    @property
    def stem(self) -> str:
        """`NN_<step id>`: the archive file name without suffix."""
        return f"{self.seq:02d}_{self.id}"

    @property
    def notebook(self) -> Path:
        """The committed notebook, relative to the project root."""
        folder = {"extract": "extract", "report": "reports"}.get(self.kind, "transform")
        name = self.id if self.kind == "dbt" else self.name  # 90_dbt_build beside the transforms
        return Path("notebooks") / folder / f"{self.seq:02d}_{name}.ipynb"


def step_names() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(extractors, transforms, post-transforms): lib.extract's and lib.transform's lists."""
    from lib.extract import EXTRACTORS
    from lib.transform import POST_TRANSFORMS, TRANSFORMS

    return tuple(EXTRACTORS), tuple(TRANSFORMS), tuple(POST_TRANSFORMS)


def all_steps(
    extractors: Sequence[str] | None = None,
    transforms: Sequence[str] | None = None,
    post: Sequence[str] | None = None,
) -> list[Step]:
    """Every step of a full run, in `seq` order, with its dependencies."""
    if extractors is None or transforms is None or post is None:
        e, t, p = step_names()
        extractors = e if extractors is None else extractors
        transforms = t if transforms is None else transforms
        post = p if post is None else post
    steps: list[Step] = []
    extract_ids = [f"extract_{n}" for n in extractors]
    for i, name in enumerate(extractors, start=1):
        steps.append(Step(i, "extract", name))
    previous: list[str] = []
    sources = transform_sources()
    for i, name in enumerate(transforms, start=11):
        fed = (
            [f"extract_{e}" for e in sources[name] if f"extract_{e}" in extract_ids]
            if name in sources
            else extract_ids
        )
        steps.append(Step(i, "transform", name, tuple(previous + fed)))
        previous = [f"transform_{name}"]  # FK order: each transform waits for the one before it
    transform_ids = [f"transform_{n}" for n in transforms]
    for i, name in enumerate(post, start=21):
        steps.append(Step(i, "post", name, tuple(extract_ids + transform_ids)))
    steps.append(Step(90, "dbt", "build", tuple(s.id for s in steps)))
    return steps


def plan(
    mode: str,
    *,
    from_step: str | None = None,
    only: str | None = None,
    steps: Sequence[Step] | None = None,
) -> list[Step]:
    """The steps a run executes: by mode, then `--from` (that step and all later) or `--only`.

    Dependencies on steps outside the plan are dropped (they count as satisfied).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "report":  # the weekly report alone (lib.report; issue 19)
        return [REPORT_STEP]
    pool = list(steps) if steps is not None else all_steps()
    if mode == "transform-only":
        pool = [s for s in pool if s.kind != "extract"]
    if only and from_step:
        raise ValueError("--only and --from cannot be combined")
    if only:
        chosen = [resolve(only, pool)]
    elif from_step:
        first = resolve(from_step, pool)
        chosen = [s for s in pool if s.seq >= first.seq]
    else:
        chosen = pool
    return restrict(chosen)


REPORT_STEP = Step(95, "report", "weekly")


def restrict(chosen: Iterable[Step]) -> list[Step]:
    """The steps with dependencies on steps outside the set dropped."""
    chosen = list(chosen)
    ids = {s.id for s in chosen}
    return [Step(s.seq, s.kind, s.name, tuple(d for d in s.deps if d in ids)) for s in chosen]


def resolve(name: str, steps: Sequence[Step]) -> Step:
    """A step by id (`transform_messages`), stem (`16_transform_messages`) or unambiguous name."""
    for s in steps:
        if name in (s.id, s.stem):
            return s
    matches = [s for s in steps if s.name == name]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(s.id for s in steps)
    if matches:
        raise ValueError(f"step {name!r} is ambiguous: {', '.join(s.id for s in matches)}")
    raise ValueError(f"unknown step {name!r}; steps of this mode: {known}")


def dependents(step_id: str, steps: Sequence[Step]) -> set[str]:
    """Every step that (transitively) depends on `step_id`."""
    out: set[str] = set()
    frontier = {step_id}
    while frontier:
        nxt = {s.id for s in steps if frontier & set(s.deps)} - out
        out |= nxt
        frontier = nxt
    return out
