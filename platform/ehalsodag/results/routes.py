"""Results for organisers (and admins): the page with charts, exports, the printable report, comparison."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.response import Response, Template
from litestar.utils.sync import sync_to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import list_events, load_event
from ehalsodag.i18n import _, ngettext
from ehalsodag.results import exports, pdf
from ehalsodag.results.charts import Bar, bar_chart, line_chart
from ehalsodag.results.service import build_report
from ehalsodag.staff import audit
from ehalsodag.staff.auth import organiser_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import permissions
from ehalsodag.web.actions import reply
from ehalsodag.web.bounds import SmallInt
from ehalsodag.web.forms import form_of
from ehalsodag.web.templating import decimal1


async def _organiser_report(
    request: Request[Any, Any, Any], session: AsyncSession, slug: str, staff: StaffUser
) -> tuple[Event, dict[str, Any]]:
    """The report of ``slug`` (the guard has checked the path's event; another event is checked here)."""
    event = await load_event(session, slug)
    if not permissions(staff, event.id).organise:
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    include_names = request.query_params.get("names") == "1"
    return event, await build_report(session, event, include_names=include_names)


def charts_for(report: dict[str, Any]) -> dict[str, str]:
    """SVG charts for the evaluation questions, the polls and the attendance timeline."""
    charts: dict[str, str] = {}
    for question in report["evaluation"]["questions"]:
        if question["distribution"]:
            charts[f"eval-{question['key']}"] = bar_chart(
                f"chart-eval-{question['key']}", question["text"],
                _("%(n)d answers. The table below the chart gives the same figures.", n=question["n"]),
                [Bar(d["label"], d["percent"], f"{d['count']} ({decimal1(d['percent'])} %)")
                 for d in question["distribution"]],
            )
    for poll in report["polls"]:
        if poll["options"]:
            top = max((o["count"] for o in poll["options"]), default=0) or 1
            bars = [Bar(o["label"], o["percent"] if poll["kind"] != "wordcloud" else 100 * o["count"] / top,
                        _bar_text(poll["kind"], o)) for o in poll["options"][:15]]
            charts[f"poll-{poll['id']}"] = bar_chart(
                f"chart-poll-{poll['id']}", poll["question"],
                _("%(n)d responses. The table below the chart gives the same figures.", n=poll["responses"]), bars)
    charts.update(region_charts(report))
    timeline = report["attendance"]["timeline"]
    if timeline:
        charts["attendance"] = line_chart(
            "chart-attendance", _("Attendees present per minute (local time)"),
            _("Peak %(peak)d attendees at once. The table below the chart gives every minute.",
              peak=report["attendance"]["peak_concurrent"]),
            [(t["local"], t["connections"]) for t in timeline],
        )
    return charts


def _bar_text(kind: str, option: dict[str, Any]) -> str:
    """A poll bar's figure: a count, or a ranking's Borda points (not a count of people)."""
    value = _("%(n)d points", n=option["count"]) if kind == "ranking" else str(option["count"])
    return f"{value} ({decimal1(option['percent'])} %)"


def region_charts(report: dict[str, Any]) -> dict[str, str]:
    """On an event with several stages (the national day): reach per region, and per headline evaluation
    question (top-two-box or yes share) each region's share with its 95 % interval."""
    stages = report.get("stages", [])
    if len(stages) <= 1:
        return {}
    charts: dict[str, str] = {}
    top = max((s["attendance"]["estimated_reach"] for s in stages), default=0) or 1
    charts["regions-reach"] = bar_chart(
        "chart-regions-reach", _("Estimated reach per region"),
        _("People reached (counting group sizes) in each region. The comparison table gives the same figures."),
        [Bar(s["name"], 100 * s["attendance"]["estimated_reach"] / top,
             ngettext("%(num)d person", "%(num)d people", s["attendance"]["estimated_reach"])) for s in stages])
    for index, question in enumerate(report["evaluation"]["questions"]):
        field = {"scale": "top2_percent", "yesno": "yes_percent"}.get(question["kind"])
        if field is None:
            continue
        bars = []
        for stage in stages:
            mine = stage["evaluation"]["questions"][index]
            value = mine[field]
            bars.append(Bar(stage["name"], value or 0.0,
                            f"{decimal1(value)} % (n = {mine['n']})" if value is not None else "n = 0",
                            (mine["ci95"][0], mine["ci95"][1]) if mine["ci95"] else None))
        description = (_("Top two per region, with the 95 % interval. The comparison table gives the same figures.")
                       if field == "top2_percent" else
                       _("Yes per region, with the 95 % interval. The comparison table gives the same figures."))
        charts[f"regions-{question['key']}"] = bar_chart(
            f"chart-regions-{question['key']}", question["text"], description, bars)
    return charts


@get("/api/v1/events/{slug:str}/results", name="api_results", guards=[organiser_guard])
async def api_results(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                      staff: StaffUser) -> dict[str, Any]:
    """The results JSON (v1); ``?names=1`` adds the Q&A with names."""
    _event, report = await _organiser_report(request, db_session, slug, staff)
    return report


@get("/e/{slug:str}/results", name="results_page", guards=[organiser_guard])
async def results_page(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                       staff: StaffUser) -> Template:
    """The organiser's results page."""
    event, report = await _organiser_report(request, db_session, slug, staff)
    return Template("results/results.html", context={
        "event": event, "report": report, "charts": charts_for(report), "staff": staff, "printable": False,
        "reach_form": True})


@get("/e/{slug:str}/results/report", name="results_report", guards=[organiser_guard])
async def results_report(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                         staff: StaffUser) -> Template:
    """The printable report with the headline figures."""
    event, report = await _organiser_report(request, db_session, slug, staff)
    return Template("results/report.html", context={
        "event": event, "report": report, "charts": charts_for(report), "staff": None, "printable": True})


@get("/e/{slug:str}/results/report.pdf", name="results_report_pdf", guards=[organiser_guard])
async def results_report_pdf(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                             uow: AsyncSession, staff: StaffUser) -> Response[bytes]:
    """The printable report as a PDF, rendered from the same template as the printable page."""
    event, report = await _organiser_report(request, db_session, slug, staff)
    audit.record(uow, actor=staff.email, action="results.export", event_id=event.id, format="pdf", with_names=False)
    html = request.app.template_engine.get_template("results/report.html").render(
        request=request, event=event, report=report, charts=charts_for(report), staff=None, printable=True,
        pdf=True, csrf_input="")
    data = await sync_to_thread(pdf.html_to_pdf, html)  # CPU-bound: off the event loop
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{slug}-report.pdf"'})


@get("/e/{slug:str}/results/export/{fmt:str}", name="results_export", guards=[organiser_guard])
async def results_export(request: Request[Any, Any, Any], slug: str, fmt: str, db_session: AsyncSession,
                         uow: AsyncSession, staff: StaffUser,
                         variant: Literal["sv", "international"] = "sv") -> Response[Any]:
    """Download as json, csv (a zip of tables) or xlsx; ``?names=1`` adds the Q&A with names. CSV is for Swedish
    Excel (semicolons, decimal comma) unless ``?variant=international`` (commas, decimal point)."""
    event, report = await _organiser_report(request, db_session, slug, staff)
    names = "-with-names" if request.query_params.get("names") == "1" else ""
    if fmt in ("json", "csv", "xlsx"):  # data leaving the platform is an organiser action worth auditing
        audit.record(uow, actor=staff.email, action="results.export", event_id=event.id,
                     format=fmt, with_names=bool(names), **({"variant": variant} if fmt == "csv" else {}))
    if fmt == "json":
        return Response(report, headers={"Content-Disposition": f'attachment; filename="{slug}-results{names}.json"'})
    if fmt == "csv":
        suffix = "" if variant == exports.SWEDISH.key else f"-{variant}"
        return Response(exports.to_csv_zip(report, exports.CSV_VARIANTS[variant]), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{slug}-results{names}{suffix}.zip"'})
    if fmt == "xlsx":
        return Response(exports.to_xlsx(report),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{slug}-results{names}.xlsx"'})
    raise NotFoundException(detail=_("Export as json, csv or xlsx."))


@get("/e/{slug:str}/results/compare", name="results_compare", guards=[organiser_guard])
async def results_compare(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                          staff: StaffUser) -> Template:
    """Two events side by side for the evaluation questions they share (e.g. two regional days)."""
    event, report = await _organiser_report(request, db_session, slug, staff)
    other_slug = request.query_params.get("with", "")
    other_event, other = await _organiser_report(request, db_session, other_slug, staff) if other_slug else (None, None)
    rows = []
    if other is not None:
        theirs = {q["key"]: q for q in other["evaluation"]["questions"]}
        for question in report["evaluation"]["questions"]:
            if question["key"] in theirs:
                rows.append((question, theirs[question["key"]]))
    choices = [e for e in await list_events(db_session)
               if e.id != event.id and permissions(staff, e.id).organise]
    return Template("results/compare.html", context={
        "event": event, "report": report, "other_event": other_event, "other": other, "rows": rows,
        "choices": choices, "staff": staff})


class ReachBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/reach and the form under the group sizes on the results page: screens declaring
    more people than ``max_group_size`` count as one person in the reach (empty or null: every size counts)."""

    max_group_size: SmallInt | None = None


async def _set_reach_cap(request: Request[Any, Any, Any], event: Event, body: ReachBody, uow: AsyncSession,
                         staff: StaffUser) -> Response[Any]:
    cap = body.max_group_size
    if cap is not None and not 1 <= cap <= 100_000:
        raise ClientException(detail=_("Give a whole number of at least 1, or leave it empty."), status_code=422)
    event.reach_max_group_size = cap
    audit.record(uow, actor=staff.email, action="results.reach_cap", event_id=event.id, max_group_size=cap)
    return reply(request, data={"reach_max_group_size": cap}, message=_("Saved. The reach follows at once."),
                 back=f"/e/{event.slug}/results#group-sizes")


@post("/api/v1/events/{slug:str}/reach", name="api_reach_cap", status_code=200, guards=[organiser_guard])
async def api_reach_cap(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                        data: ReachBody) -> Response[Any]:
    """Leave declared group sizes above ``max_group_size`` out of the reach (organisers; null: count all)."""
    return await _set_reach_cap(request, event, data, uow, staff)


@post("/e/{slug:str}/results/reach", name="form_reach_cap", guards=[organiser_guard],
      dependencies={"form": form_of(ReachBody)})
async def form_reach_cap(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                         form: ReachBody) -> Response[Any]:
    """The form under the group sizes on the results page."""
    return await _set_reach_cap(request, event, form, uow, staff)


routes = [api_results, results_page, results_report, results_report_pdf, results_export, results_compare,
          api_reach_cap,
          form_reach_cap]
