"""GET /api/budgets."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from api.app_settings import app_settings
from api.auth import current_tenant, is_platform_caller
from brain.rails import budget as budgets
from brain.state import get_redis

blp = Blueprint("budgets", __name__, url_prefix="/api/budgets", description="Token and cost budgets")


class AmountSchema(ma.Schema):
    tokens = ma.fields.Integer(allow_none=True)
    cost_usd = ma.fields.Float(allow_none=True)


class BudgetLineSchema(ma.Schema):
    scope = ma.fields.String()
    period = ma.fields.String(metadata={"enum": ["day", "month"]})
    period_id = ma.fields.String()
    limit = ma.fields.Nested(AmountSchema)
    spent = ma.fields.Nested(AmountSchema)
    reserved = ma.fields.Nested(AmountSchema)
    remaining = ma.fields.Nested(AmountSchema)


class BudgetListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BudgetLineSchema))


@blp.route("")
class Budgets(MethodView):
    @blp.response(200, BudgetListSchema)
    def get(self):
        """Per tenant (a customer tenant: its own) and period: limit (null = unlimited), spent, reserved, remaining."""
        s = app_settings()
        if is_platform_caller():
            return {"items": budgets.overview(get_redis(s), s)}
        return {"items": budgets.overview(get_redis(s), s, [current_tenant()], discover=False)}
