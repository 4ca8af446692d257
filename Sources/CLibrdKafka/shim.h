#ifndef C_LIBRDKAFKA_SHIM_H
#define C_LIBRDKAFKA_SHIM_H

// librdkafka 2.0.2 from Debian's librdkafka-dev. rdkafka_mock.h gives the in-memory cluster
// behind `june-relay dev-broker` and the Kafka tests.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#endif
