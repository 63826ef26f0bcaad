"""Reading `kubectl api-resources -o wide`, whose columns may be blank."""

from resourcifier.backends.kubectl.kinds import KindInfo, parse_api_resources

TABLE = """\
NAME          SHORTNAMES   APIVERSION                     NAMESPACED   KIND                       VERBS                  CATEGORIES
configmaps    cm           v1                             true         ConfigMap                  [create delete get]
namespaces    ns           v1                             false        Namespace                  [create delete get]    
deployments   deploy       apps/v1                        true         Deployment                 [create delete get]    all
widgets                    example.com/v1                 true         Widget                     [create get]
"""  # noqa: E501 - kubectl's own table


def test_rows_are_read_by_their_headers_position_even_with_blank_cells():
    kinds = parse_api_resources(TABLE)
    assert kinds == [
        KindInfo("", "ConfigMap", "configmaps", True, "v1"),
        KindInfo("", "Namespace", "namespaces", False, "v1"),
        KindInfo("apps", "Deployment", "deployments", True, "apps/v1"),
        KindInfo("example.com", "Widget", "widgets", True, "example.com/v1"),
    ]


def test_empty_output_has_no_kinds():
    assert parse_api_resources("") == []
