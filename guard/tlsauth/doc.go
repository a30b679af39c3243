// Package tlsauth serves JSON-RPC over TLS: a server certificate that can be reloaded from its
// files without dropping connections ([Certificate], for tls.Config.GetCertificate), mutual
// TLS that requires client certificates signed by given authorities ([ServerConfig]), and an
// rpc.Authenticator that makes a verified client certificate's subject the connection's
// principal ([Authenticator]), for httprpc and wsrpc alike. [ClientConfig] is the client's
// side: a private authority's roots and a client certificate.
//
// Its subpackage tlstest makes authorities and certificates at run time, for tests.
package tlsauth
