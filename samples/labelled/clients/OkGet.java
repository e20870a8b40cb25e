// Fetches one URL twice with OkHttp 3 (Debian's libokhttp-java): once as a
// fresh client, once with a cookie jar that holds a cookie for the host, so
// that the capture shows where OkHttp puts Cookie among its own headers.
// Run: java -cp /usr/share/java/okhttp.jar:/usr/share/java/okio.jar OkGet.java URL
import java.util.Collections;
import java.util.List;
import okhttp3.Cookie;
import okhttp3.CookieJar;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

public class OkGet {
    public static void main(String[] args) throws Exception {
        HttpUrl url = HttpUrl.get(args[0]);
        fetch(new OkHttpClient(), url);
        Cookie cookie = new Cookie.Builder().name("seen").value("1").domain(url.host()).build();
        CookieJar jar = new CookieJar() {
            public void saveFromResponse(HttpUrl u, List<Cookie> cookies) {}
            public List<Cookie> loadForRequest(HttpUrl u) {
                return Collections.singletonList(cookie);
            }
        };
        fetch(new OkHttpClient.Builder().cookieJar(jar).build(), url);
        System.exit(0); // OkHttp's pool threads would keep the JVM up for minutes
    }

    static void fetch(OkHttpClient client, HttpUrl url) throws Exception {
        try (Response response = client.newCall(new Request.Builder().url(url).build()).execute()) {
            response.body().bytes();
        }
    }
}
