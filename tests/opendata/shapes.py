"""The DCAT-AP 3.0.1 SHACL shapes (../shared/conformance), loaded for pySHACL.

The published ``ranges.ttl`` names five property shapes (``sh:property``) that neither
file defines (SEMICeu/DCAT-AP 3.0.1, commit 7c531da): pySHACL refuses such a shapes
graph outright. Those references constrain nothing (no path, no constraint), so they are
dropped here, counted, and the test fails if the files change and the count with them.
"""

from __future__ import annotations

from pathlib import Path

import pyshacl
from rdflib import Graph
from rdflib.namespace import SH

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT.parent / "shared" / "conformance" / "dcat-ap-3.0.1"
DANGLING = 5


def shapes() -> Graph:
    """Both shape files as one graph, without the dangling property references."""
    graph = Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        graph.parse(FOLDER / name)
    dangling = [
        (shape, prop)
        for shape, prop in graph.subject_objects(SH.property)
        if (prop, SH.path, None) not in graph
    ]
    assert len(dangling) == DANGLING, dangling
    for shape, prop in dangling:
        graph.remove((shape, SH.property, prop))
    return graph


def validate(data: Graph) -> tuple[bool, list[str], str]:
    """Whether ``data`` conforms, the focus nodes of its violations, and the report."""
    conforms, report, text = pyshacl.validate(
        data, shacl_graph=shapes(), inference="none", allow_warnings=True
    )
    violations = [
        str(focus)
        for result in report.subjects(SH.resultSeverity, SH.Violation)
        for focus in report.objects(result, SH.focusNode)
    ]
    return bool(conforms), violations, str(text)
