"""Which of the application's services run on a host (unit tests:
tests/filters/test_application_services.py)."""


def application_host_services(services, group_names):
    """The services (in order) that are present and serve one of the
    host's groups."""
    return [
        s for s in services
        if s.get("state", "present") == "present" and set(s.get("groups", [])) & set(group_names)
    ]


class FilterModule:
    def filters(self):
        return {"application_host_services": application_host_services}
