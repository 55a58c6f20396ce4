"""Answers of the weekly and monthly market reports (週報, 月報) and their listings."""

from __future__ import annotations

from tanso.api.schemas import Out, answer

# importing schemas_exchange first names the daily bar's model (BarValues), which the period's
# bar reuses
from tanso.api.schemas_exchange import ReportLinks
from tanso.services.marketdata import period_report

PeriodInstrument = answer(period_report.InstrumentPeriod, "PeriodInstrument")
PeriodIndex = answer(period_report.IndexPeriod, "PeriodIndex")
SealedAuctionResult = answer(period_report.SealedResult, "SealedAuctionResult")
RegistryActivity = answer(period_report.RegistryActivity)
PeriodTotals = answer(period_report.PeriodTotals)
PeriodReport = answer(period_report.PeriodReport)


class ReportPeriod(Out):
    """A week or month with a market report, its first and last day, and a link to each form."""

    period: str
    start: str
    end: str
    links: ReportLinks
