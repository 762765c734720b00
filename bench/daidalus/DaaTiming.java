// Timing driver for NASA DAIDALUS v2 (Apache-2.0), used by bench/bench_daa.py when Java and a
// DAIDALUS jar are available. Scenario: one ownship against K intruders converging on it
// (seeded), DO_365B_no_SUM configuration. Prints two numbers (microseconds):
//   alert_us_per_pair  : alertLevel() for every intruder, per intruder
//   bands_us_per_ac    : alert levels + track/gs/vs/alt bands, per ownship
// Usage: java -cp DAIDALUSv2.0.4.jar:. DaaTiming CONF K REPEATS
import gov.nasa.larcfm.ACCoRD.*;
import gov.nasa.larcfm.Util.*;
import java.util.Random;

public class DaaTiming {
    static void load(Daidalus daa, double t, int k, Random rnd, double[][] intr) {
        Position so = Position.makeLatLonAlt(45.0, "deg", 10.0, "deg", 10000.0, "ft");
        Velocity vo = Velocity.makeTrkGsVs(90.0, "deg", 300.0, "knot", 0.0, "fpm");
        daa.setOwnshipState("own", so, vo, t);
        for (int i = 0; i < k; ++i) {
            Position si = Position.makeLatLonAlt(intr[i][0], "deg", intr[i][1], "deg", intr[i][2], "ft");
            Velocity vi = Velocity.makeTrkGsVs(intr[i][3], "deg", intr[i][4], "knot", intr[i][5], "fpm");
            int idx = daa.addTrafficState("i" + i, si, vi);
            daa.setAlerterIndex(idx, 1);
        }
    }

    public static void main(String[] args) {
        String conf = args[0];
        int k = Integer.parseInt(args[1]);
        int reps = Integer.parseInt(args[2]);
        Random rnd = new Random(7);
        double[][] intr = new double[k][6];
        for (int i = 0; i < k; ++i) {
            double tcpa = 30 + 60 * rnd.nextDouble();
            double trk = 360 * rnd.nextDouble();
            double gs = 150 + 300 * rnd.nextDouble();
            // meet the ownship's line at tcpa: ownship goes east at 300 kt
            double ex = 300 * 1852.0 / 3600 * tcpa, ey = 0;
            double vx = gs * 1852.0 / 3600 * Math.sin(Math.toRadians(trk));
            double vy = gs * 1852.0 / 3600 * Math.cos(Math.toRadians(trk));
            double x = ex - vx * tcpa, y = ey - vy * tcpa;
            intr[i][0] = 45.0 + y / 111132.0;
            intr[i][1] = 10.0 + x / (111320.0 * Math.cos(Math.toRadians(45.0)));
            intr[i][2] = 10000 + 600 * (rnd.nextDouble() - 0.5);
            intr[i][3] = trk; intr[i][4] = gs; intr[i][5] = 0.0;
        }
        Daidalus daa = new Daidalus();
        daa.loadFromFile(conf);
        int sink = 0;
        for (int pass = 0; pass < 2; ++pass) { // pass 0 warms the JIT
            long t0 = System.nanoTime();
            for (int r = 0; r < reps; ++r) {
                load(daa, 100.0 * r, k, rnd, intr);
                for (int i = 1; i <= k; ++i) sink += daa.alertLevel(i);
            }
            long t1 = System.nanoTime();
            for (int r = 0; r < reps; ++r) {
                load(daa, 100.0 * r, k, rnd, intr);
                for (int i = 1; i <= k; ++i) sink += daa.alertLevel(i);
                sink += daa.horizontalDirectionBandsLength() + daa.horizontalSpeedBandsLength()
                      + daa.verticalSpeedBandsLength() + daa.altitudeBandsLength();
            }
            long t2 = System.nanoTime();
            if (pass == 1) {
                System.out.printf("alert_us_per_pair %.3f%n", (t1 - t0) / 1e3 / reps / k);
                System.out.printf("bands_us_per_ac %.3f%n", (t2 - t1) / 1e3 / reps);
                System.out.printf("sink %d%n", sink);
            }
        }
    }
}
