// `kiln convert IN OUT`: imports a model in any format Kiln reads and saves it in Kiln's own
// format (.kiln), then loads the file back and checks that it holds the same graph.
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "kiln/support/strings.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/model_format.h"
#include "kiln/support/files.h"
#include "kiln/support/status.h"
#include "tools/kiln/args.h"
#include "tools/kiln/cli.h"

namespace kiln::cli {

absl::Status ConvertCommand(const std::vector<std::string>& args, std::ostream& out) {
  KILN_ASSIGN_OR_RETURN(ParsedArgs parsed, ParseArgs(args, {}, {}));
  if (parsed.positional.size() != 2) return UsageError("kiln convert takes an input MODEL and an OUTPUT.kiln");
  const std::string& in = parsed.positional[0];
  const std::string& dest = parsed.positional[1];
  if (!absl::EndsWith(absl::AsciiStrToLower(dest), ".kiln")) {
    return UsageError(kiln::StrCat("kiln convert writes Kiln models; name the output '", dest, ".kiln'"));
  }
  // The output's folder must exist and be writable before the import, not after it.
  const std::string folder = std::filesystem::path(dest).parent_path().string();
  KILN_RETURN_IF_ERROR(CheckOutputFolder(folder.empty() ? "." : folder, /*create=*/false, "output folder"));
  KILN_ASSIGN_OR_RETURN(Graph graph, ImportModel(in));
  SaveOptions options;
  options.producer = kiln::StrCat("kiln convert ", in);
  KILN_RETURN_IF_ERROR(SaveKilnModel(graph, dest, options));
  KILN_ASSIGN_OR_RETURN(Graph loaded, LoadKilnModel(dest));
  KILN_RETURN_IF_ERROR(Annotate(CompareGraphs(graph, loaded), kiln::StrCat(dest, " does not load back to the same graph")));
  out << "wrote " << dest << ": graph '" << graph.name << "', " << graph.nodes.size() << " nodes, "
      << graph.initializers.size() << " initializers (format version " << kKilnModelVersion << ")\n";
  return absl::OkStatus();
}

}  // namespace kiln::cli
