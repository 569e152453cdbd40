"""The reports, importable from one place; each is a function over the rollups returning plain dataclasses."""

from __future__ import annotations

from .afterhours import AfterHours, AfterHoursReport, afterhours, afterhours_of, night_minimum
from .common import UNMETERED, Header
from .days import DayCheck, Frame, LocationDay, MeterDay, load
from .demand import DemandReport, MonthDemand, Share, demand, demand_of
from .heatmap import Heatmap, HeatmapReport, heatmap, heatmap_of
from .profile import Profile, ProfileReport, profile, profile_of
from .quality import MonthPF, Quality, QualityReport, quality, quality_of
from .ranking import Ranking, RankRow, ranking, ranking_of
from .settings import ReportSettings
from .tables import Table, to_jsonable

__all__ = ["UNMETERED", "AfterHours", "AfterHoursReport", "DayCheck", "DemandReport", "Frame", "Header", "Heatmap",
           "HeatmapReport", "LocationDay", "MeterDay", "MonthDemand", "MonthPF", "Profile", "ProfileReport",
           "Quality", "QualityReport", "RankRow", "Ranking", "ReportSettings", "Share", "Table", "afterhours",
           "afterhours_of", "demand", "demand_of", "heatmap", "heatmap_of", "load", "night_minimum", "profile",
           "profile_of", "quality", "quality_of", "ranking", "ranking_of", "to_jsonable"]
