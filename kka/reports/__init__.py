"""Program reports (laporan program): aggregate figures about case conferences.

Layers, in the order data flows:

- ``periods``  — which dates a report covers (semester, school year, custom).
- ``figures``  — aggregate SQL queries; every cell carries its value, the number of
  distinct clients behind it and a cell key (the sum of the counted rows' ids).
- ``protect``  — the small-number rule and the differencing guard; the only way a
  figure leaves this package for an organisation-wide or group view.
- ``services`` — who may see which report, and the audited entry points that the
  web pages, PDF, exports and API all call.
"""
