"""Air quality the way the EEA and the EU directives count it.

- :mod:`air.bands`: the European Air Quality Index band tables, versioned data with their
  sources (the 2024 revision by default, the pre-2024 table kept);
- :mod:`air.index`: sub-index per pollutant, overall band and dominant pollutant, per
  station and hour, from hourly means (:func:`storage.rollups.series`);
- :mod:`air.exceedances`: EU limit and target values per station and year, with the
  directive's data-capture rules and the 2030 values beside them;
- :mod:`air.alerts`: information and alert thresholds through the shared alert engine;
- :mod:`air.stations`: the stations (devices of kind ``air_quality``) and their readings.
"""
