"""The option schema: every field's CLI flag, web field and validator exist and agree; one parser per kind."""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil

import pytest

import stylekit.options
from stylekit import cli
from stylekit.options import (OptionError, TransferOptions, add_arguments, check_value, cli_flag, form_fields, option,
                              parse_form, spec_of, specs, validate, web_label)
from stylekit.options.schema import _fields_for_cli, _off_help, as_typed
from stylekit.web.tasks import methods_by_name

MODULES = [importlib.import_module(module.name)
           for module in pkgutil.iter_modules(stylekit.options.__path__, "stylekit.options.")]
CLASSES = [c for module in MODULES for c in vars(module).values()  # each options class, in the module declaring it
           if isinstance(c, type) and c.__module__ == module.__name__ and dataclasses.is_dataclass(c)
           and any(True for _ in specs(c))]
BAD = {"int": "many", "float": "lots", "choice": "bogus", "ints": "1,x", "floats": "1,x", "size": "big",
       "bool": "maybe", "text": " ", "path": " ", "names": " , ", "mix": "3:x", "indices": "2-x", "images": [" "]}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_class_and_cli_field_has_a_flag_with_the_same_default_and_help():
    parsers = _subparsers()
    used = set()
    for name, command in cli.commands().items():
        actions: dict[str, argparse.Action] = {}
        for a in parsers[name]._actions:
            actions.setdefault(a.dest, a)  # the option itself comes before its aliases
        overrides = dict(command.defaults)
        for cls in command.options:
            used.add(cls)
            for f, spec, default in _fields_for_cli(cls()):
                action = actions.get(f.name)
                assert action is not None, (name, f.name)
                flag = cli_flag(f) if spec.kind != "bool" or not default else "--no-" + cli_flag(f)[2:]
                assert flag in action.option_strings, (name, f.name, action.option_strings)
                # a switch that is on by default says first what turning it off does
                shown = _off_help(flag, spec.help) if flag.startswith("--no-") else spec.help
                assert action.help == shown, (name, f.name)
                if not action.required:
                    assert action.default == as_typed(overrides.get(f.name, default), spec.kind), (name, f.name)
                for alias, value, _ in spec.aliases:
                    assert actions[f.name].dest == f.name and alias in parsers[name]._option_string_actions
    bases = ("DeviceOptions", "NetworkOptions", "RunOptions", "ScheduleOptions", "WeightsDirOptions",
             "OutputOptions", "OptimizerSettings", "ObjectiveOptions")  # shared pieces, offered through the classes
    # built on them
    concrete = {c for c in CLASSES if c.__name__ not in bases}
    assert concrete - used == set(), "an options class no command offers"


def test_every_web_field_matches_its_declaration_and_round_trips():
    for method in methods_by_name().values():
        fields = {f["name"]: f for f in form_fields(method.options)}
        declared = {f.name: (f, spec) for f, spec in specs(method.options) if spec.web}
        assert set(fields) == set(declared), method.name
        defaults = method.options()
        for name, (f, spec) in declared.items():
            assert fields[name]["help"] == (spec.tip or spec.help) and fields[name]["label"] == web_label(f)
            assert fields[name]["default"] == as_typed(getattr(defaults, name), spec.kind)
        typed = {k: "" if v["default"] is None else str(v["default"]) for k, v in fields.items()}
        parsed = parse_form(method.options, typed)
        for name in fields:
            assert getattr(parsed, name) == getattr(defaults, name), (method.name, name)


@pytest.mark.parametrize("style", ["cli", "web", "python"])
def test_every_field_is_validated_and_named_the_way_the_user_typed_it(style):
    for cls in CLASSES:
        for f, spec in specs(cls):
            if spec.kind in ("nested", "image") or (spec.kind in ("text", "path", "names") and spec.optional):
                continue
            shown = {"cli": cli_flag(f), "web": web_label(f), "python": f.name}[style]
            valid = {g.name: "out.png" for g, s in specs(cls) if s.required}
            with pytest.raises(OptionError) as caught:
                validate(dataclasses.replace(cls(), **{**valid, f.name: BAD[spec.kind]}), style)
            assert str(caught.value).startswith(shown + " "), (cls.__name__, f.name, str(caught.value))


def test_sizes_take_n_and_wxh_everywhere():
    for cls in CLASSES:
        for f, spec in specs(cls):
            if spec.kind == "size":
                assert check_value("512", spec) == 512 and check_value("512x384", spec) == (384, 512), f.name
                assert check_value(" 512X384 ", spec) == (384, 512)


def test_numbers_outside_what_torch_accepts_are_one_line_errors(tmp_path, content_path, style_path, capsys):
    code = cli.main(["transfer", str(content_path), str(style_path), "-o", str(tmp_path / "o.png"),
                     "--seed", "99999999999999999999999"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--seed: must be between 0 and 9223372036854775807" in err
    with pytest.raises(OptionError, match="^seed must be between 0"):
        validate(TransferOptions(seed=-1))
    with pytest.raises(OptionError, match="^steps must be between 0 and 100000, got -1$"):
        validate(TransferOptions(steps=(3, -1)))


def test_adding_an_option_is_one_field():
    @dataclasses.dataclass
    class Extended(TransferOptions):
        sparkle: float = option(0.5, "how much sparkle", "float", low=0, high=1, group="losses", web="losses")

    parser = argparse.ArgumentParser()
    add_arguments(parser, Extended)
    assert parser.parse_args(["--sparkle", "0.25"]).sparkle == 0.25
    assert "how much sparkle" in parser.format_help()
    assert any(f["name"] == "sparkle" and f["help"] == "how much sparkle" for f in form_fields(Extended))
    with pytest.raises(OptionError, match="^sparkle must be between 0 and 1, got 2$"):
        validate(Extended(sparkle=2))
    with pytest.raises(OptionError, match="^--sparkle must be between 0 and 1"):
        validate(Extended(sparkle=2), "cli")
    assert spec_of(dataclasses.fields(Extended)[-1]).web == "losses"
