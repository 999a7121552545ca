"""Presentation: tables for the terminal (and later HTML reports and plots)."""

from detente.report.tables import (
    final_positions_table,
    forecast_table,
    positions_table,
    rounds_table,
)

__all__ = ["final_positions_table", "forecast_table", "positions_table", "rounds_table"]
