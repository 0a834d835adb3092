"""The `fediverse` command. Heavy modules are imported inside each command, so `--help` is quick."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path

from fediverse.errors import CommandError
from fediverse.settings import Settings, SettingsError, check_data_dir, load

EXIT_USAGE = 2


def _settings_flags() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (override the FEDIVERSE_* variables)")
    group.add_argument("--domain", help="public host name, may carry :port (FEDIVERSE_DOMAIN)")
    group.add_argument("--data-dir", help="database, media and keys (FEDIVERSE_DATA_DIR)")
    group.add_argument("--database-url", help="SQLAlchemy URL (FEDIVERSE_DATABASE_URL)")
    group.add_argument("--image-model", help="diffusers model id, folder or 'tiny' (FEDIVERSE_IMAGE_MODEL)")
    group.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (FEDIVERSE_DEVICE)")
    group.add_argument(
        "--insecure-http", action="store_const", const=True, default=None,
        help="serve http:// URLs and accept http:// ids (FEDIVERSE_INSECURE_HTTP=1)",
    )
    group.add_argument(
        "--allow-private-networks", action="store_const", const=True, default=None,
        help="let outgoing requests reach private addresses (FEDIVERSE_ALLOW_PRIVATE_NETWORKS=1)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    flags = _settings_flags()
    parser = argparse.ArgumentParser(
        prog="fediverse",
        description="A self-hostable ActivityPub server for generated images.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[flags], help="migrate, then serve the web app and workers")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--no-workers", action="store_true", help="serve only; run workers elsewhere")

    worker = commands.add_parser("worker", parents=[flags], help="run background workers only")
    worker.add_argument(
        "--queue", action="append", dest="queues", metavar="NAME",
        help="a queue to work on (repeatable; default: all)",
    )

    commands.add_parser("migrate", parents=[flags], help="apply database migrations and exit")

    account = commands.add_parser("account", help="manage local accounts")
    account_commands = account.add_subparsers(dest="account_command", required=True, metavar="ACTION")
    create = account_commands.add_parser("create", parents=[flags], help="create a local account")
    create.add_argument("username")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.add_argument("--email")
    create.add_argument("--admin", action="store_true")
    create.add_argument("--bot", action="store_true", help="an automated account (actor type Service)")
    create.add_argument("--generator", action="store_true", help="answers mentions with a generated image")

    token = commands.add_parser("token", help="manage access tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    token_create = token_commands.add_parser(
        "create", parents=[flags], help="print an OAuth access token for an account"
    )
    token_create.add_argument("username")
    token_create.add_argument("--scopes", default="read write follow push")

    report = commands.add_parser("report", help="read and resolve reports (moderation)")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    report_list = report_commands.add_parser(
        "list", parents=[flags], help="print the open reports, one line each, newest first")
    report_list.add_argument("--all", action="store_true", help="resolved reports too")
    report_resolve = report_commands.add_parser("resolve", parents=[flags],
                                                help="mark a report as handled")
    report_resolve.add_argument("report_id", metavar="ID")

    media = commands.add_parser("media", help="manage stored media")
    media_commands = media.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    prune = media_commands.add_parser(
        "prune", parents=[flags],
        help="delete copies of other servers' images older than --days (they become links again)")
    prune.add_argument("--days", type=int, default=7, help="keep copies this recent (default 7)")
    prune.add_argument("--profiles", action="store_true",
                       help="also the avatars and headers of remote accounts nobody here follows")

    domain = commands.add_parser("domain", help="block other servers (moderation)")
    domain_commands = domain.add_subparsers(dest="domain_command", required=True, metavar="ACTION")
    domain_block = domain_commands.add_parser(
        "block", parents=[flags], help="block a server and its subdomains")
    domain_block.add_argument("blocked", metavar="DOMAIN")
    domain_block.add_argument("--severity", choices=("suspend", "silence"), default="suspend",
                              help="suspend: nothing in or out, its accounts removed here; "
                                   "silence: hidden from those who don't follow them")
    domain_block.add_argument("--reject-media", action="store_true",
                              help="its media are not copied here, only linked")
    domain_block.add_argument("--reject-reports", action="store_true", help="its reports are ignored")
    domain_block.add_argument("--public-comment")
    domain_block.add_argument("--private-comment")
    domain_unblock = domain_commands.add_parser("unblock", parents=[flags], help="lift a block")
    domain_unblock.add_argument("blocked", metavar="DOMAIN")
    domain_commands.add_parser("list", parents=[flags], help="print the blocked servers")

    generate = commands.add_parser("generate", parents=[flags], help="render one image to a file")
    generate.add_argument("prompt")
    generate.add_argument("--seed", type=int)
    generate.add_argument("--steps", type=int)
    generate.add_argument("--width", type=int)
    generate.add_argument("--height", type=int)
    generate.add_argument("--negative-prompt")
    generate.add_argument("--out", required=True, type=Path, help="file to write (.png, .jpg or .webp)")
    return parser


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "domain": args.domain,
        "data_dir": args.data_dir,
        "database_url": args.database_url,
        "image_model": args.image_model,
        "device": args.device,
        "insecure_http": args.insecure_http,
        "allow_private_networks": args.allow_private_networks,
    }
    settings = load(overrides=overrides)
    problem = check_data_dir(settings)
    if problem:
        raise SettingsError([problem])
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings_from(args)
        return _dispatch(args, settings)
    except SettingsError as exc:
        for line in exc.problems:
            print(f"fediverse: {line}", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"fediverse: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run_loop(main: Coroutine[None, None, int]) -> int:
    """Run `main` on uvloop where it is installed, as `serve` does through uvicorn."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _log_to_stderr() -> None:
    """Long-running commands: our own INFO lines (model loading and download progress,
    dropped activities, pruning) and everyone's warnings, on stderr beside uvicorn's."""
    import logging

    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for package in ("fediverse", "models", "inbox", "outbox", "activitypub"):
        logging.getLogger(package).setLevel(logging.INFO)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from fediverse import commands

    if args.command in ("serve", "worker"):
        _log_to_stderr()

    if args.command == "serve":
        return commands.serve(settings, host=args.host, port=args.port, workers=not args.no_workers)
    if args.command == "worker":
        return _run_loop(commands.worker(settings, args.queues))
    if args.command == "migrate":
        return asyncio.run(commands.migrate(settings))
    if args.command == "account":
        password = _read_password() if args.password_stdin else None
        return asyncio.run(
            commands.create_account(
                settings, args.username, password=password, email=args.email,
                admin=args.admin, bot=args.bot, generator=args.generator,
            )
        )
    if args.command == "token":
        return asyncio.run(commands.create_token(settings, args.username, args.scopes))
    if args.command == "report":
        from fediverse import report_commands

        if args.report_command == "list":
            return asyncio.run(report_commands.list_reports(settings, everything=args.all))
        return asyncio.run(report_commands.resolve_report(settings, args.report_id))
    if args.command == "media":
        return asyncio.run(commands.prune_media(settings, days=args.days, profiles=args.profiles))
    if args.command == "domain":
        return asyncio.run(_domain_command(args, settings))
    if args.command == "generate":
        return commands.generate(
            settings, args.prompt, out=args.out, seed=args.seed, steps=args.steps,
            width=args.width, height=args.height, negative_prompt=args.negative_prompt,
        )
    raise CommandError(f"unknown command {args.command!r}")


async def _domain_command(args: argparse.Namespace, settings: Settings) -> int:
    from fediverse import domain_commands

    if args.domain_command == "block":
        return await domain_commands.block(
            settings, args.blocked, severity=args.severity, reject_media=args.reject_media,
            reject_reports=args.reject_reports, public_comment=args.public_comment,
            private_comment=args.private_comment)
    if args.domain_command == "unblock":
        return await domain_commands.unblock(settings, args.blocked)
    return await domain_commands.show(settings)


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: no password on standard input")
    return password
