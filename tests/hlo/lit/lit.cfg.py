# lit configuration of the hlo-opt FileCheck tests. tests/CMakeLists.txt runs lit on this folder
# with --param hlo_opt=<built hlo-opt> --param llvm_tools=<folder with FileCheck and not>
# --param exec_root=<scratch folder in the build tree>.
import os

import lit.formats

config.name = "kiln-hlo"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".hlo"]
config.excludes = ["lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = lit_config.params.get("exec_root", config.test_source_root)

hlo_opt = lit_config.params.get("hlo_opt")
llvm_tools = lit_config.params.get("llvm_tools", "/usr/lib/llvm-19/bin")
if not hlo_opt or not os.path.exists(hlo_opt):
    lit_config.fatal("pass --param hlo_opt=PATH to the built hlo-opt")
if not os.path.exists(os.path.join(llvm_tools, "FileCheck")):
    lit_config.fatal("FileCheck not found in %s (install llvm-19-tools)" % llvm_tools)

# RUN lines name the tools plainly: hlo-opt, FileCheck, not.
path = [os.path.dirname(os.path.abspath(hlo_opt)), llvm_tools,
        config.environment.get("PATH", os.environ.get("PATH", ""))]
config.environment["PATH"] = os.pathsep.join(path)
