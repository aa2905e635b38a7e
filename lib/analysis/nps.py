"""(5) NPS / satisfaction surveys parsed from flow-event messages.

A WhatsApp flow answer arrives as a message with content_type `event` whose body is JSON
`{"eventName":"FLOW_RESPONSE_EVENT","eventParameters":{"flowResponse":{question: answer, …}}}`.
Answers carry emoji and stray spaces ("⏱️ Sí "); they are cleaned, scored, and attributed to the agent
of the contact's latest agent session that ended before the answer (within 24 h).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from lib.analysis import display as d
from lib.analysis.db import read_frames
from lib.analysis.params import Filters

FLOW_EVENT = "FLOW_RESPONSE_EVENT"
YES = {"si", "sí", "yes", "y", "claro", "de acuerdo"}
NO = {"no", "n"}
PARTIAL = {"en parte", "parcialmente", "parcial", "más o menos", "mas o menos"}
_DROP_CHARS = {"\ufe0e", "\ufe0f", "\u20e3", "\u200d"}
_SPACES = re.compile(r"\s+")
NO_AGENT = "(sin asesor)"
LONG_COLUMNS = [
    "message_id",
    "message_ts",
    "date",
    "contact_id",
    "channel",
    "question",
    "answer",
    "raw_answer",
    "score",
]


def parse_flow_event(body: Any) -> dict[str, str] | None:
    """The `{question: answer}` of a FLOW_RESPONSE_EVENT body; None for anything else or malformed JSON."""
    data = body
    for _ in range(2):  # tolerate a JSON document encoded twice
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except (ValueError, TypeError):
                return None
    if not isinstance(data, dict) or data.get("eventName") != FLOW_EVENT:
        return None
    params = data.get("eventParameters") or {}
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            return None
    response = params.get("flowResponse") if isinstance(params, dict) else None
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except ValueError:
            return None
    if not isinstance(response, dict):
        return None
    out: dict[str, str] = {}
    for question, answer in response.items():
        if answer is None or isinstance(answer, dict):
            continue
        if isinstance(answer, list):
            answer = ", ".join(str(a) for a in answer)
        q = clean_text(str(question))
        if q:
            out[q] = str(answer)
    return out or None


def clean_text(text: str) -> str:
    """Drop emoji/pictographs and variation selectors, collapse spaces (accents are kept)."""
    text = unicodedata.normalize("NFC", text)
    kept = [
        ch
        for ch in text
        if ch not in _DROP_CHARS and unicodedata.category(ch) not in {"So", "Sk", "Cs", "Co", "Cn"}
    ]
    return _SPACES.sub(" ", "".join(kept)).strip()


def answer_score(answer: str) -> float | None:
    """Numeric answers → their value; yes → 1, partly → 0.5, no → 0; anything else → None."""
    a = clean_text(answer).lower().rstrip(".!")
    if not a:
        return None
    try:
        return float(a.replace(",", "."))
    except ValueError:
        pass
    if a in YES:
        return 1.0
    if a in NO:
        return 0.0
    if a in PARTIAL:
        return 0.5
    return None


def responses_long(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (event message, question) with the cleaned answer and its score."""
    rows: list[dict[str, Any]] = []
    for rec in events.to_dict("records"):
        parsed = parse_flow_event(rec.get("message_body"))
        if not parsed:
            continue
        for question, raw in parsed.items():
            rows.append(
                {
                    "message_id": rec.get("message_id"),
                    "message_ts": rec.get("message_ts"),
                    "date": rec.get("date"),
                    "contact_id": rec.get("contact_id"),
                    "channel": rec.get("channel"),
                    "question": question,
                    "answer": clean_text(raw) or raw.strip(),
                    "raw_answer": raw,
                    "score": answer_score(raw),
                }
            )
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def question_kind(scores: pd.Series) -> str:
    """`scale_5` (1–5), `scale_10` (0–10 NPS), `yes_no` (0/0.5/1 scores) or `categorical`."""
    s = scores.dropna()
    if s.empty or len(s) < 0.8 * len(scores):
        return "categorical"
    if set(s.unique()) <= {0.0, 0.5, 1.0} and s.max() <= 1:
        return "yes_no"
    if s.min() >= 0 and s.max() <= 5:
        return "scale_5"
    if s.min() >= 0 and s.max() <= 10:
        return "scale_10"
    return "categorical"


def score_of(scores: pd.Series, kind: str) -> float | None:
    """The question's headline score: % yes (yes_no), % 4–5 (CSAT, scale_5), NPS (scale_10)."""
    s = scores.dropna()
    if s.empty:
        return None
    if kind == "yes_no":
        return 100.0 * float(s.mean())
    if kind == "scale_5":
        return 100.0 * float((s >= 4).mean())
    if kind == "scale_10":
        return 100.0 * float((s >= 9).mean()) - 100.0 * float((s <= 6).mean())
    return None


SCORE_LABEL = {"yes_no": "% Sí", "scale_5": "CSAT % (4–5)", "scale_10": "NPS", "categorical": "—"}


def question_summary(long: pd.DataFrame) -> pd.DataFrame:
    """Per question: responses, kind, mean score and headline score."""
    cols = ["question", "kind", "responses", "mean", "score", "score_label"]
    if long.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for question, part in long.groupby("question", sort=False):
        kind = question_kind(part["score"])
        rows.append(
            {
                "question": question,
                "kind": kind,
                "responses": len(part),
                "mean": part["score"].mean() if kind.startswith("scale") else None,
                "score": score_of(part["score"], kind),
                "score_label": SCORE_LABEL[kind],
            }
        )
    return pd.DataFrame(rows, columns=cols)


def answer_distribution(long: pd.DataFrame) -> pd.DataFrame:
    """Share of each answer per question (percent)."""
    if long.empty:
        return pd.DataFrame(columns=["question", "answer", "responses", "share"])
    g = long.groupby(["question", "answer"]).size().rename("responses").reset_index()
    g["share"] = 100 * g["responses"] / g.groupby("question")["responses"].transform("sum")
    return g


def distribution_figure(dist: pd.DataFrame) -> go.Figure:
    """Stacked horizontal bars: answer shares per question."""
    title = "Distribución de respuestas por pregunta"
    if dist.empty:
        return d.empty_figure(title, "Sin respuestas de encuesta en el periodo")
    fig = go.Figure()
    for answer, part in dist.groupby("answer", sort=True):
        fig.add_bar(
            y=part["question"],
            x=part["share"],
            name=str(answer),
            orientation="h",
            text=part["responses"],
            hovertemplate="%{y}<br>" + str(answer) + ": %{x:.1f} % (%{text})",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="% de respuestas", range=[0, 100])
    return d.style_figure(fig, title, height=120 + 70 * dist["question"].nunique())


def attribute_agents(long: pd.DataFrame, sessions: pd.DataFrame, max_hours: float = 24) -> pd.DataFrame:
    """Add agent_id/agent_email: the contact's latest agent session ending before the answer."""
    out = long.copy()
    if out.empty:
        out["agent_id"] = pd.Series(dtype=object)
        out["agent_email"] = pd.Series(dtype=object)
        return out
    out["_ts"] = pd.to_datetime(out["message_ts"], utc=True)
    out["_order"] = range(len(out))
    if sessions.empty:
        out["agent_id"], out["agent_email"] = NO_AGENT, None
        return out.drop(columns=["_ts", "_order"])
    s = sessions.dropna(subset=["ended_at", "contact_id"]).copy()
    s["_ts"] = pd.to_datetime(s["ended_at"], utc=True)
    s = s.sort_values("_ts")[["_ts", "contact_id", "agent_id", "agent_email"]]
    left = out.sort_values("_ts")
    merged = pd.merge_asof(
        left, s, on="_ts", by="contact_id", direction="backward", tolerance=pd.Timedelta(hours=max_hours)
    )
    merged = merged.sort_values("_order")
    merged["agent_id"] = merged["agent_id"].fillna(NO_AGENT)
    return merged.drop(columns=["_ts", "_order"]).reset_index(drop=True)


def entity_scores(long: pd.DataFrame, entity: str) -> pd.DataFrame:
    """Per entity (e.g. agent_id, channel) × question: responses and the headline score."""
    cols = [entity, "question", "responses", "score"]
    if long.empty or entity not in long.columns:
        return pd.DataFrame(columns=cols)
    kinds = {q: question_kind(p["score"]) for q, p in long.groupby("question")}
    rows = []
    for (ent, question), part in long.groupby([entity, "question"]):
        rows.append(
            {
                entity: ent,
                "question": question,
                "responses": len(part),
                "score": score_of(part["score"], kinds[question]),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def entity_figure(scores: pd.DataFrame, entity: str, label: str) -> go.Figure:
    """Heatmap entity × question of the headline score (text: score and n)."""
    title = f"Satisfacción por {label}"
    if scores.empty or scores["score"].isna().all():
        return d.empty_figure(title, "Sin respuestas de encuesta en el periodo")
    z = scores.pivot_table(index=entity, columns="question", values="score", aggfunc="first")
    n = scores.pivot_table(
        index=entity, columns="question", values="responses", aggfunc="first"
    ).reindex_like(z)
    text = [
        [
            ("" if pd.isna(v) else f"{v:.0f} (n={int(c) if not pd.isna(c) else 0})")
            for v, c in zip(zr, nr, strict=True)
        ]
        for zr, nr in zip(z.to_numpy(), n.to_numpy(), strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=list(z.columns),
            y=[str(i) for i in z.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmin=-100 if (z < 0).any().any() else 0,
            zmax=100,
            colorbar={"title": "Puntaje"},
        )
    )
    return d.style_figure(fig, title, height=160 + 28 * len(z.index))


def load(filters: Filters) -> dict[str, pd.DataFrame]:
    """Flow events of the window and the agent sessions to attribute them."""
    return read_frames(filters.tenant, ["nps_events", "nps_sessions"], filters.sql_params())


def kpis(long: pd.DataFrame, summary: pd.DataFrame) -> dict[str, tuple[object, str]]:
    """Headline numbers: surveys, answers, and each scored question's score."""
    cards: dict[str, tuple[object, str]] = {
        "Encuestas respondidas": (long["message_id"].nunique() if not long.empty else 0, "int"),
        "Contactos": (long["contact_id"].nunique() if not long.empty else 0, "int"),
    }
    for rec in summary.to_dict("records"):
        if rec["score"] is not None and not pd.isna(rec["score"]):
            kind = "float" if rec["kind"] == "scale_10" else "pct"
            cards[f"{rec['question'][:40]} · {rec['score_label']}"] = (rec["score"], kind)
    return cards


def report(filters: Filters) -> None:
    """Render the whole view."""
    frames = load(filters)
    long = attribute_agents(responses_long(frames["nps_events"]), frames["nps_sessions"])
    summary = question_summary(long)
    d.show_kpis(kpis(long, summary))
    if long.empty:
        d.show_note("No hay respuestas de encuesta (FLOW_RESPONSE_EVENT) en el periodo seleccionado.")
    d.show_figure(distribution_figure(answer_distribution(long)))
    d.show_figure(entity_figure(entity_scores(long, "agent_id"), "agent_id", "asesor"))
    d.show_figure(entity_figure(entity_scores(long, "channel"), "channel", "canal"))
    table = summary.rename(
        columns={
            "question": "Pregunta",
            "kind": "Tipo",
            "responses": "Respuestas",
            "mean": "Promedio",
            "score": "Puntaje",
            "score_label": "Métrica",
        }
    )
    d.show_table(table.round(2), caption="Resumen por pregunta")
