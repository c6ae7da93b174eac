"""Command and control: incidents from call to close (THRIVE, grades, targets and the
rules inspectors check), duplicate calls, unit recommendations, dispatch, the incident
log, EIDO exchange. Builds on tracking for units and their positions."""
