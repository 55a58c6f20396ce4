"""Documents the web layer renders from use cases' data: reports and certificates."""
