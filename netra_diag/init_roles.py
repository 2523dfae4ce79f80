"""Which definition of a surveyed tree plays each pipeline role: by structure, then shape.

Owns the recognition of the roles (``choose_roles``) and the small readings of a definition
it needs (``params_of``). It never relies on a known path, never imports the tree, and knows
nothing of the rest of a proposal (methods, deprecations, build arguments) nor of YAML.

**Safety first.** ``run`` calls what the roles name, so a role that makes the tool run code
(``server``, ``wiring_entry``, ``llm_manager``, ``bridge_factory``) is activated only when
its shape fits strongly; otherwise it is a TODO listing the candidates, each with the reason
it was not taken. A heuristic never makes ``run`` call an unrelated function.

**Precision from structure.** Candidates are ranked by how the application connects them,
names only break ties; a tie between equally connected candidates is a TODO, not a guess:

========================  =================================================================
role                      chosen as
========================  =================================================================
``user_context``          a class named ``UserExecutionContext`` (else ``*ExecutionContext``
                          / ``*UserContext`` / ``*Context``) whose constructor takes
                          ``user_id``; with several, the most imported one
``manager_factory``       ``create_websocket_manager`` (else ``create_*manager``) taking the
                          user context
``wiring_entry``          (strong) a function taking the user context, nothing else
                          required, that builds or returns the registry, a manager or an
                          engine factory (its calls, its return value); ranked by how many
                          modules import it (what the routes use)
``registry``              the ``*Registry`` class (with ``get_agent``) the wiring entry
                          builds; else the best ``*Registry`` with ``get_agent``
``engine_factory``        the ``*EngineFactory`` the wiring entry builds (resolved through
                          its module's imports); else the most imported one
``engine``                the class the engine factory's ``create_for_user`` returns; else
                          the one ``*Engine`` with ``run_agent``
``bridge_factory``        (strong) a ``create_*bridge*``-like function (or a ``*Bridge``
                          class) whose required parameters the tool can supply (no
                          ``request``, no ``user_id``) and whose result makes emitters
``emitter``               the class the bridge's emitter method returns; else the class with
                          the most ``notify_<event>`` methods and ``Emitter`` in its name
``server``                (strong) an async function taking ``host`` and ``port`` (nothing
                          else required but ``users``/``tokens``) that returns a class of the
                          tree with a ``url`` or ``port``
``llm_manager``           (strong) the class the registry's constructor annotates for its
                          LLM parameter when it needs no arguments, or a no-argument
                          scripted/fake subclass of it; without an annotation, only a
                          no-argument scripted/fake ``*LLM*Manager``/``*LLM*Client``
========================  =================================================================

Deprecated and test code never fill a role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .init_shapes import (
    CONTEXT_NAMES,
    FAKE_WORDS,
    Definition,
    context_score,
    describe_kind,
    emitter_score,
    engine_factory_score,
    is_side_path,
    live,
    manager_factory_score,
    method_result,
    params_of,
    registry_score,
    required_names,
    returned_class,
    takes_context,
    unsuppliable,
    used_by,
)
from .support.survey import ClassInfo, FunctionDefInfo, Survey

__all__ = ["CONTEXT_NAMES", "FAKE_WORDS", "Definition", "RoleChoice", "choose_roles",
           "describe_kind", "params_of", "returned_class"]

_SERVER_EXTRAS = frozenset({"host", "port", "users", "tokens"})
_MAX_CANDIDATES = 5


@dataclass
class RoleChoice:
    """A role the survey settled: the definition, a comment, and the runners-up."""

    role: str
    definition: Definition
    note: str = ""
    candidates: list[tuple[Definition, str]] = field(default_factory=list)

    @property
    def entry(self) -> str:
        return self.definition.entry


class _Chooser:
    """One pass over the tree, role after role (later roles use the structure of earlier
    ones)."""

    def __init__(self, tree: Survey) -> None:
        self.tree = tree
        self.classes: list[ClassInfo] = live(tree.classes)
        self.functions: list[FunctionDefInfo] = [f for f in live(tree.functions)
                                                 if not f.name.startswith("_")]
        self.roles: dict[str, RoleChoice] = {}
        self.missing: dict[str, str] = {}
        self.candidates: dict[str, list[tuple[Definition, str]]] = {}
        #: role -> (what makes it, the class that returns) where structure says so
        self.made: dict[str, tuple[str, ClassInfo]] = {}

    def built_by_wiring(self, d: Definition) -> bool:
        """Whether the wiring entry calls ``d`` under a name bound to it (its imports)."""
        wiring = self.entry_of("wiring_entry")
        if wiring is None or d.name not in wiring.calls | set(wiring.constructs):
            return False
        return self.tree.class_for(d.name, wiring.module) is d or \
            (d.module, d.name) in self.tree.imports.get(wiring.module, ())

    def decide(self, role: str, ranked: list[tuple[tuple, Definition, str | None]],
               why_missing: str, note: str = "") -> None:
        """``ranked``: (rank key, definition, None when strong else why not). The best strong
        candidate is taken unless another strong one ranks equal (then a TODO)."""
        ranked = sorted(ranked, key=lambda r: (r[0], r[1].relpath, r[1].line), reverse=False)
        strong = [r for r in ranked if r[2] is None]
        others = [(d, why) for _, d, why in ranked if why is not None]
        if strong and (len(strong) == 1 or strong[0][0] != strong[1][0]):
            best = strong[0][1]
            runners = [(d, f"ranked below {best.name}: {self.connection(role, d)}")
                       for _, d, _ in strong[1:]]
            self.roles[role] = RoleChoice(role, best, note,
                                          (runners + others)[:_MAX_CANDIDATES])
            return
        if strong:
            tied = [(d, "connected as well as another candidate: " + self.connection(role, d))
                    for key, d, _ in strong if key == strong[0][0]]
            self.missing[role] = (f"{len(tied)} candidates fit equally well: name the one "
                                  "the application uses")
            self.candidates[role] = (tied + others)[:_MAX_CANDIDATES]
            return
        self.missing[role] = why_missing + (" (the candidates below do not fit)"
                                            if others else "")
        self.candidates[role] = others[:_MAX_CANDIDATES]

    def connection(self, role: str, d: Definition) -> str:
        """How ``d`` connects to the application, in words (for a candidate's comment)."""
        parts = []
        wiring = self.entry_of("wiring_entry")
        if role in ("registry", "engine_factory") and wiring is not None:
            built = self.built_by_wiring(d)
            parts.append(f"{'built' if built else 'not built'} by {wiring.name}()")
        made = self.made.get(role)
        if made is not None:
            parts.append(f"{'is' if d is made[1] else 'not'} what {made[0]} returns")
        if role == "bridge_factory" and isinstance(d, ClassInfo):
            parts.append("a class (a factory function is preferred)")
        used = used_by(self.tree, d)
        parts.append(f"imported by {used} other module(s)")
        if is_side_path(d):
            parts.append("in a demo/example/legacy path")
        return ", ".join(parts)

    def entry_of(self, role: str) -> Definition | None:
        choice = self.roles.get(role)
        return choice.definition if choice else None

    # -- the roles, in dependency order ------------------------------------------------------

    def user_context(self) -> None:
        scored = [(context_score(self.tree, c), c) for c in self.classes]
        top = max((s for s, _ in scored), default=0)
        found = [c for s, c in scored if s == top and s > 0]
        note = ""
        if len(found) > 1:
            found.sort(key=lambda c: (-used_by(self.tree, c), c.relpath))
            others = ", ".join(f"{c.relpath}:{c.line}" for c in found[1:])
            note = (f"{len(found)} classes named like this ({others} too): chose the most "
                    "imported; context-identity will show which each component accepts")
        if found:
            self.roles["user_context"] = RoleChoice("user_context", found[0], note)
        else:
            self.missing["user_context"] = "no class like UserExecutionContext(user_id, ...) found"

    @property
    def context_name(self) -> str | None:
        d = self.entry_of("user_context")
        return d.name if d else None

    def manager_factory(self) -> None:
        ranked = []
        for f in self.functions:
            score = manager_factory_score(self.tree, f, self.context_name)
            if score:
                ranked.append(((-score, -used_by(self.tree, f)), f, None))
        self.decide("manager_factory", ranked,
                    "no create_websocket_manager(user_context)-like function found")

    def wiring_entry(self) -> None:
        ranked = []
        for f in self.functions:
            lower, module = f.name.lower(), f.module.rsplit(".", 1)[-1]
            if "supervisor" not in lower and module not in ("dependencies", "wiring",
                                                            "container", "deps"):
                continue
            takes = takes_context(self.tree, f, self.context_name)
            if not takes and "supervisor" not in lower:
                continue
            why = None
            extra = [n for n in required_names(self.tree, f) if n not in CONTEXT_NAMES
                     and not (self.context_name and any(
                         p.name == n and p.annotation == self.context_name
                         for p in f.params))]
            if not takes:
                why = "does not take the user context"
            elif extra:
                why = f"also requires {', '.join(extra)}"
            elif not self._builds_pipeline(f):
                why = "builds or returns no registry, manager or engine factory"
            ranked.append(((is_side_path(f), -used_by(self.tree, f)), f, why))
        self.decide("wiring_entry", ranked, "no function taking the user context that builds "
                    "the registry, a manager or an engine factory (the application's wiring "
                    "path) found")

    def _builds_pipeline(self, f: FunctionDefInfo) -> bool:
        made = set(f.calls) | set(f.constructs) | {f.returns}
        factory = self.entry_of("manager_factory")
        if factory is not None and factory.name in made:
            return True
        if any("Registry" in n or "EngineFactory" in n or n.endswith("Engine") for n in made):
            return True
        cls = returned_class(self.tree, f)
        attrs = cls.attrs if cls is not None else frozenset()
        return any(w in a.lower() for a in attrs for w in ("registry", "engine", "manager"))

    def registry(self) -> None:
        ranked = []
        for c in self.classes:
            score = registry_score(self.tree, c)
            if not score:
                continue
            built = self.built_by_wiring(c)
            ranked.append(((not built, -score, is_side_path(c), -used_by(self.tree, c)), c, None))
        self.decide("registry", ranked, "no *Registry class with get_agent() found")

    def engine_factory(self) -> None:
        ranked = []
        for d in [*self.classes, *self.functions]:
            score = engine_factory_score(self.tree, d)
            if not score:
                continue
            built = self.built_by_wiring(d)
            ranked.append(((not built, is_side_path(d), -used_by(self.tree, d), -score), d, None))
        self.decide("engine_factory", ranked, "no *EngineFactory class or function found")

    def engine(self) -> None:
        factory = self.entry_of("engine_factory")
        made = None
        if isinstance(factory, ClassInfo):
            made = method_result(self.tree, factory, ("create_for_user", "create_engine"),
                                  "engine")
        elif factory is not None:
            made = returned_class(self.tree, factory)
        if made is not None and factory is not None:
            self.made["engine"] = (f"{factory.name}.create_for_user()", made)
        ranked = []
        for c in self.classes:
            if not c.name.endswith("Engine"):
                continue
            has_run = "run_agent" in self.tree.methods(c)
            ranked.append(((c is not made, not has_run, is_side_path(c), -used_by(self.tree, c)),
                           c, None))
        self.decide("engine", ranked, "no *Engine class with run_agent() found")

    def bridge_factory(self) -> None:
        ranked = []
        for d in [*self.functions, *self.classes]:
            lower = d.name.lower()
            if isinstance(d, FunctionDefInfo):
                if "bridge" not in lower or not lower.startswith(("create", "build", "make",
                                                                  "get", "new")):
                    continue
            elif "Bridge" not in d.name:
                continue
            unsupplied = unsuppliable(self.tree, d, CONTEXT_NAMES)
            bridge = returned_class(self.tree, d)
            makes = bridge is not None and method_result(
                self.tree, bridge, ("create_user_emitter",), "emitter") is not None
            has_method = bridge is not None and any(
                "emitter" in n.lower() for n in self.tree.methods(bridge))
            why = None
            if unsupplied:
                why = f"requires {', '.join(unsupplied)}, which the tool cannot supply"
            elif bridge is None:
                why = "returns nothing the source shows (no return annotation or constructor)"
            elif not (makes or has_method):
                why = f"{bridge.name} has no method making emitters"
            ranked.append(((isinstance(d, ClassInfo), not makes, is_side_path(d),
                            -used_by(self.tree, d)), d, why))
        self.decide("bridge_factory", ranked, "no create_*bridge* function (or no-argument "
                    "*Bridge class) whose result makes emitters found")

    def emitter(self) -> None:
        bridge_def = self.entry_of("bridge_factory")
        bridge = returned_class(self.tree, bridge_def) if bridge_def is not None else None
        made = method_result(self.tree, bridge, ("create_user_emitter",), "emitter") \
            if bridge is not None else None
        if made is not None and bridge is not None:
            self.made["emitter"] = (f"{bridge.name}'s emitter method", made)
        ranked = []
        for c in self.classes:
            score = emitter_score(self.tree, c)
            if c is made or score:
                ranked.append(((c is not made, -score, is_side_path(c), -used_by(self.tree, c)),
                               c, None))
        self.decide("emitter", ranked, "no class with notify_<event> methods or 'Emitter' in "
                    "its name found")

    def server(self) -> None:
        ranked = []
        for f in self.functions:
            names = {p.name for p in f.params}
            named = f.name in ("start_server", "serve", "run_server", "create_server")
            if not ({"host", "port"} <= names or named):
                continue
            made = returned_class(self.tree, f)
            extra = [n for n in required_names(self.tree, f) if n not in _SERVER_EXTRAS]
            why = None
            if not f.is_async:
                why = "not async"
            elif not {"host", "port"} <= names:
                why = "takes no host and port"
            elif extra:
                why = f"also requires {', '.join(extra)}"
            elif made is None or not ({"url", "port"} & made.attrs):
                what = made.name if made else (f.returns or "nothing the source shows")
                why = f"returns {what}, not a server object with a url or port"
            ranked.append(((is_side_path(f), -used_by(self.tree, f)), f, why))
        self.decide("server", ranked, "no async start_server(host, port, ...) returning a "
                    "server with a url or port found: event-flow will drive an agent run "
                    "in-process instead (the wire is then not exercised)")

    def llm_manager(self) -> None:
        registry = self.entry_of("registry")
        annotated = None
        if isinstance(registry, ClassInfo):
            for p in self.tree.constructor(registry):
                if p.annotation and (p.name in ("llm_manager", "llm", "llm_client")
                                     or "llm" in p.annotation.lower()):
                    annotated = self.tree.class_for(p.annotation, registry.module)
                    if annotated is not None:
                        break
        ranked = []
        if annotated is not None:
            family = [annotated, *self.tree.subclasses(annotated.name)]
            for c in family:
                needs = required_names(self.tree, c)
                fake = any(w in c.name for w in FAKE_WORDS)
                why = f"needs {', '.join(needs)}" if needs else None
                if c.deprecation is not None or c.is_protocol:
                    why = "deprecated or abstract"
                ranked.append(((not fake, c is not annotated, c.name), c, why))
            why_missing = (f"{registry.name}'s constructor names {annotated.name}, which "
                           "needs arguments, and no no-argument stand-in of it was found: "
                           "give build.registry.<its llm parameter> a factory")
        else:
            for c in self.classes:
                lower = c.name.lower()
                if "llm" not in lower or not ("manager" in lower or "client" in lower):
                    continue
                needs = required_names(self.tree, c)
                fake = any(w in c.name for w in FAKE_WORDS)
                why = f"needs {', '.join(needs)}" if needs else None if fake else (
                    "not what the registry's constructor names, and not a scripted or fake "
                    "stand-in: calling it could reach a real model or service")
                ranked.append(((is_side_path(c), c.name), c, why))
            why_missing = ("no LLM manager the registry's constructor names, nor a "
                           "no-argument scripted/fake LLM manager, found (optional)")
        self.decide("llm_manager", ranked, why_missing)


def choose_roles(tree: Survey) -> tuple[dict[str, RoleChoice], dict[str, str],
                                        dict[str, list[tuple[Definition, str]]]]:
    """The roles ``tree`` settles; for each other role why it is a TODO; and the candidates
    of those TODOs, each with why it was not taken."""
    chooser = _Chooser(tree)
    for step in (chooser.user_context, chooser.manager_factory, chooser.wiring_entry,
                 chooser.registry, chooser.engine_factory, chooser.engine,
                 chooser.bridge_factory, chooser.emitter, chooser.server, chooser.llm_manager):
        step()
    return chooser.roles, chooser.missing, chooser.candidates
