// Kiln's logging sink: library code never writes to stderr itself; it reports through Status or, for
// what is not an error of the call (a cluster that fell back to the kernels, a dump that could not be
// written, --log_compiles lines), through this sink. An application embedding Kiln replaces the sink
// to route the lines into its own logging.
#ifndef KILN_SUPPORT_LOG_H_
#define KILN_SUPPORT_LOG_H_

#include <functional>
#include <string_view>

namespace kiln {

enum class LogSeverity { kInfo, kWarning, kError };

// Receives one message (no trailing newline). May be called from any thread, concurrently.
using LogSink = std::function<void(LogSeverity severity, std::string_view message)>;

// Replaces the process-wide sink and returns the previous one. A null sink drops every message. The
// default sink writes "kiln: <message>" and a newline to stderr. Thread-safe.
LogSink SetLogSink(LogSink sink);

// Sends `message` to the current sink. Thread-safe.
void Log(LogSeverity severity, std::string_view message);

}  // namespace kiln

#endif  // KILN_SUPPORT_LOG_H_
