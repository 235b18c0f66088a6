"""Geodata and example configuration shipped with Dniester Watch.

Installed as the package ``dwatch_data`` so that an installed wheel finds the files
(``importlib.resources.files("dwatch_data")``). See PROVENANCE.md for sources and licences.
"""
