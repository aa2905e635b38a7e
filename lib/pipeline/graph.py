"""The step graph: extract steps, transforms in FK order, post-transforms, then `dbt build`.

Step ids are `<kind>_<name>` (`extract_chat`, `transform_messages`, `post_agents`, `dbt_build`); the
two-digit number `NN` orders them and names their notebooks and archive files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.config import PROJECT_ROOT

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

# The contract's names (docs/contracts.md); the live lists in lib.extract / lib.transform win.
DEFAULT_EXTRACTORS = ("applications", "chat", "contacts", "push", "campaigns", "sms", "email", "inapp")
DEFAULT_TRANSFORMS = (
    "contacts", "daily_stats", "toques_daily", "toques_heatmap", "campaigns", "messages",
    "chat_conversations", "chat_channels",
)  # fmt: skip
DEFAULT_POST_TRANSFORMS = ("contacts_totals", "daily_stats_totals", "agents")

# Which extractor fills the raw data a transform reads (unknown transforms wait for every extractor).
TRANSFORM_SOURCES: dict[str, tuple[str, ...]] = {
    "contacts": ("contacts",),
    "daily_stats": ("push", "chat"),
    "toques_daily": ("push",),
    "toques_heatmap": ("push",),
    "campaigns": ("campaigns",),
    "messages": ("chat",),
    "chat_conversations": ("chat",),
    "chat_channels": ("chat",),
}

KINDS = ("extract", "transform", "post", "dbt", "report")
MODES = ("full", "transform-only", "report")


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
    """(extractors, transforms, post-transforms) from lib, else the contract's lists."""
    try:
        from lib.extract import EXTRACTORS

        extractors = tuple(EXTRACTORS)
    except ImportError:
        extractors = DEFAULT_EXTRACTORS
    try:
        from lib.transform import POST_TRANSFORMS, TRANSFORMS

        transforms, post = tuple(TRANSFORMS), tuple(POST_TRANSFORMS)
    except ImportError:
        transforms, post = DEFAULT_TRANSFORMS, DEFAULT_POST_TRANSFORMS
    return extractors, transforms, post


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
    for i, name in enumerate(transforms, start=11):
        sources = TRANSFORM_SOURCES.get(name)
        feeds = [f"extract_{s}" for s in sources if f"extract_{s}" in extract_ids] if sources else extract_ids
        steps.append(Step(i, "transform", name, tuple(previous + feeds)))
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
