"""The production topology beside the single process: one engine and stateless gateways.

`tanso serve` runs everything in one process (the default). `tanso engine` runs the exchange's
sequencer, the only writer, and answers the requests that change state; `tanso gateway` serves
the API and the portal, reading PostgreSQL itself and sending every request that changes state
to the engine over NATS (request/reply). See ARCHITECTURE.md, "Gateways and one engine".
"""
