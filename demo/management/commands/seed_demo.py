from django.core.management.base import BaseCommand

from demo.services import seed_demo_tenant


class Command(BaseCommand):
    help = "Create (once) the demo tenant, its owner and its bot, and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options):
        base = f"http://127.0.0.1:{port}"
        demo = seed_demo_tenant(origins=[base, f"http://localhost:{port}"])
        lines = [
            "",
            "ReplyDesk is starting on the embedded default (SQLite, Celery on a SQLite broker, in-memory layer).",
            f"  Console      {base}/console/",
            f"  API docs     {base}/api/docs/",
            f"  Health       {base}/readyz",
            "",
            f"  Demo owner   {demo.owner_email}",
            f"  Password     {demo.owner_password}   (new on every start)",
            f"  Demo bot     {demo.bot.name}  (widget key {demo.bot.public_key})",
            "               its first training run starts with the worker: watch it on the console",
            "",
            "Ctrl-C stops the web server and the worker.",
            "",
        ]
        self.stdout.write("\n".join(lines))
