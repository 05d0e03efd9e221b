"""An example gridpilot price provider plugin (entry-point group ``gridpilot.prices``)."""
