"""Refuse abusive documents before they run: depth, aliases, tokens, a cost estimate; introspection needs a caller.

The rules are Strawberry's own (QueryDepthLimiter, MaxAliasesLimiter, MaxTokensLimiter) plus a
small cost rule: every selected field costs 1, multiplied by the ``page_size`` of each paged field
above it (its default when absent, the maximum of 100 when it comes from a variable).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

from graph.errors import TOO_COMPLEX

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25


def _coded(rule: type[ValidationRule], code: str, message: str | None = None) -> type[ValidationRule]:
    """``rule`` with its errors tagged with a REST-style ``code`` (and optionally a clearer message)."""

    def tag(error: GraphQLError) -> GraphQLError:
        if message is not None:
            error.message = message
        error.extensions = {**(error.extensions or {}), "code": code, "details": []}
        return error

    class Coded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            # Strawberry's limiters report from __init__ through the context, not through report_error.
            report = context.report_error
            context.report_error = lambda error: report(tag(error))  # type: ignore[method-assign]
            try:
                super().__init__(context)
            finally:
                del context.report_error

        def report_error(self, error: GraphQLError) -> None:
            super().report_error(tag(error))

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


def _page_factor(node: FieldNode, field: GraphQLField) -> int:
    if "page_size" not in field.args:
        return 1
    for arg in node.arguments or ():
        if arg.name.value == "page_size":
            if isinstance(arg.value, IntValueNode):
                return max(1, min(int(arg.value.value), MAX_PAGE_SIZE))
            if isinstance(arg.value, VariableNode):
                return MAX_PAGE_SIZE
    default = field.args["page_size"].default_value
    return default if isinstance(default, int) and default > 0 else DEFAULT_PAGE_SIZE


def cost_rule(max_cost: int) -> type[ValidationRule]:
    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            if root is None:
                return
            fragments = {
                d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            cost = self._cost(node.selection_set, root, 1, fragments, set())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"Query cost {cost} exceeds the limit of {max_cost}: "
                        "ask for fewer fields, smaller pages or less nesting.",
                        node,
                        extensions={"code": TOO_COMPLEX, "details": []},
                    )
                )

        def _cost(
            self,
            selection_set: SelectionSetNode,
            parent: GraphQLNamedType,
            multiplier: int,
            fragments: dict[str, FragmentDefinitionNode],
            seen: set[str],
        ) -> int:
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    name = selection.name.value
                    fields = parent.fields if isinstance(parent, GraphQLObjectType) else {}
                    field = fields.get(name)
                    if name.startswith("__") or field is None:
                        continue
                    total += multiplier
                    if selection.selection_set:
                        child = get_named_type(field.type)
                        factor = multiplier * _page_factor(selection, field)
                        total += self._cost(selection.selection_set, child, factor, fragments, seen)
                elif isinstance(selection, InlineFragmentNode):
                    target = parent
                    if selection.type_condition is not None:
                        target = self.context.schema.get_type(selection.type_condition.name.value) or parent
                    total += self._cost(selection.selection_set, target, multiplier, fragments, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = fragments.get(selection.name.value)
                    if fragment is None or fragment.name.value in seen:
                        continue
                    target = self.context.schema.get_type(fragment.type_condition.name.value) or parent
                    total += self._cost(
                        fragment.selection_set, target, multiplier, fragments, seen | {fragment.name.value}
                    )
            return total

    return CostLimit


class SubscriptionsNeedWebsocket(ValidationRule):
    """A subscription posted over HTTP would never stream: say where it runs instead."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        if node.operation == OperationType.SUBSCRIPTION:
            self.report_error(
                GraphQLError(
                    "Subscriptions run over a websocket (protocol graphql-transport-ws) at /api/graphql, not HTTP.",
                    node,
                    extensions={"code": "bad_request", "details": []},
                )
            )


class QueryLimits(SchemaExtension):
    """Adds the limit rules to every operation; anonymous callers also lose introspection."""

    def __init__(self, *, max_depth: int, max_aliases: int, max_tokens: int, max_cost: int) -> None:
        self.max_tokens = max_tokens
        self.rules: tuple[type[ValidationRule], ...] = (
            _coded(QueryDepthLimiter(max_depth=max_depth).validation_rules[0], TOO_COMPLEX),
            _coded(MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules[0], TOO_COMPLEX),
            cost_rule(max_cost),
        )
        self.anonymous_rules = (
            _coded(
                NoSchemaIntrospectionCustomRule,
                "unauthorized",
                "Introspection requires authentication: send 'Authorization: Bearer <token or hari_ key>'.",
            ),
        )

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        anonymous = getattr(getattr(context, "ctx", None), "principal", None) is None
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        extra = self.rules + (self.anonymous_rules if anonymous else ())
        if not getattr(context, "websocket", False):
            extra += (SubscriptionsNeedWebsocket,)
        self.execution_context.validation_rules = tuple(self.execution_context.validation_rules) + extra
        yield
