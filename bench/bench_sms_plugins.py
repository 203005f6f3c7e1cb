"""The benchmark's SMS recipients: every contact with all its fields, mobile number included."""

from bench_plugins import BenchContacts

from core import DataSource, hookimpl


class BenchMobiles(BenchContacts):
    name = "bench_mobiles"
    title = "Every contact with its mobile number (benchmark)"

    def load(self, context, ids):
        return DataSource.load(self, context, ids)  # whole records via core.query.load_records


@hookimpl
def register_datasources(register):
    register(BenchMobiles)
