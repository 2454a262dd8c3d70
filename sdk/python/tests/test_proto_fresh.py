"""The committed message modules (src/trellis/_proto, made by scripts/gen-python-proto.sh) must
describe the same API as proto/ (whose build, proto/descriptor.binpb, `npm run lint:proto`
keeps fresh). Skipped when the tests run outside the repository (no descriptor set)."""

import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DESCRIPTOR_SET = ROOT / "proto" / "descriptor.binpb"

try:
    import google.protobuf  # noqa: F401

    HAS_PROTOBUF = True
except ImportError:
    HAS_PROTOBUF = False


def _normalized(file_proto):
    # buf fills json_name on every field; protoc's Python output does not: not part of the API.
    for message in file_proto.message_type:
        _clear_json_names(message)
    return file_proto


def _clear_json_names(message):
    for f in message.field:
        f.ClearField("json_name")
    for nested in message.nested_type:
        _clear_json_names(nested)


@unittest.skipUnless(DESCRIPTOR_SET.is_file(), "not in the Trellis repository (no proto/descriptor.binpb)")
@unittest.skipUnless(HAS_PROTOBUF, "protobuf is not installed (pip install ./sdk/python installs it)")
class ProtoFreshTest(unittest.TestCase):
    def test_committed_modules_match_proto(self):
        from google.protobuf import descriptor_pb2

        from trellis._proto.trellis.v1 import common_pb2, experiment_pb2, worker_pb2

        built = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
        by_name = {f.name: f for f in built.file}
        for module in (common_pb2, experiment_pb2, worker_pb2):
            committed = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
            self.assertIn(committed.name, by_name)
            # Compared as text format: equal messages may differ in unknown/unset bookkeeping.
            self.assertEqual(
                str(_normalized(committed)),
                str(_normalized(by_name[committed.name])),
                f"sdk/python/src/trellis/_proto/{committed.name} is stale: run npm run proto:python",
            )


if __name__ == "__main__":
    unittest.main()
