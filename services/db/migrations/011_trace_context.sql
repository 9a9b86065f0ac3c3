-- 011: each event keeps the trace context of the change that caused it (a W3C traceparent), so
-- every attempt to deliver it, in whichever worker and however much later, joins that trace.
-- NULL when the change was not traced (no `otel` extra, or tracing off).
ALTER TABLE webhook_events ADD COLUMN trace_context text;
