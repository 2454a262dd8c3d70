"""`Client(tls_ca=...)` speaks TLS and sends its token: against a real grpc server (Python, TLS
with a certificate made here by openssl) that answers GetExperiment with NOT_FOUND naming the
authorization metadata it received. Skipped without grpcio or openssl."""

import importlib.util
import shutil
import subprocess
import tempfile
import unittest
from concurrent import futures
from pathlib import Path

import trellis

HAS_GRPC = importlib.util.find_spec("grpc") is not None
OPENSSL = shutil.which("openssl")


@unittest.skipUnless(HAS_GRPC and OPENSSL, "needs grpcio and openssl")
class TlsClientTest(unittest.TestCase):
    def setUp(self):
        import grpc

        self.tmp = tempfile.TemporaryDirectory()
        d = Path(self.tmp.name)
        subprocess.run(
            [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
            check=True, capture_output=True,
        )
        self.ca = d / "cert.pem"

        def get_experiment(request, context):
            auth = dict(context.invocation_metadata()).get("authorization", "none")
            context.abort(grpc.StatusCode.NOT_FOUND, f"experiment {request.id} not found; authorization: {auth}")

        from trellis._proto.trellis.v1 import experiment_pb2 as pb

        handler = grpc.method_handlers_generic_handler(
            "trellis.v1.ExperimentService",
            {"GetExperiment": grpc.unary_unary_rpc_method_handler(
                get_experiment,
                request_deserializer=pb.GetExperimentRequest.FromString,
                response_serializer=pb.GetExperimentResponse.SerializeToString,
            )},
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers((handler,))
        credentials = grpc.ssl_server_credentials([((d / "key.pem").read_bytes(), self.ca.read_bytes())])
        self.port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.server.start()

    def tearDown(self):
        self.server.stop(0)
        self.tmp.cleanup()

    def test_tls_with_the_ca_and_the_token_as_bearer_metadata(self):
        with trellis.Client(f"localhost:{self.port}", token="t0k", tls_ca=self.ca, timeout=10) as client:
            with self.assertRaises(trellis.NotFound) as caught:
                client.get("e1")
        self.assertEqual(caught.exception.details, "experiment e1 not found; authorization: Bearer t0k")

    def test_without_the_ca_the_handshake_fails(self):
        with trellis.Client(f"localhost:{self.port}", timeout=3) as client:
            with self.assertRaises(trellis.Unavailable):
                client.get("e1")


if __name__ == "__main__":
    unittest.main()
